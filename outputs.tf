output "evidence_bucket_name" {
  description = "Bucket holding snapshots, diffs, change events and reports."
  value       = local.evidence_bucket_name
}

output "alert_topic_arn" {
  description = "SNS topic receiving alerts and function error alarms."
  value       = local.alert_topic_arn
}

output "kms_key_arn" {
  description = "KMS key encrypting evidence, logs, queues, the topic and secrets."
  value       = local.kms_key_arn
}

# The enabled capability modules, by the capability name the outputs use.
locals {
  capabilities = {
    for name, capability in {
      sg_inventory       = one(module.sg_inventory)
      sg_change_notifier = one(module.sg_change_alerts)
      securityhub_report = one(module.securityhub_report)
      unused_sg_audit    = one(module.unused_sg_audit)
      reachability_check = one(module.reachability_check)
      review_pack        = one(module.review_pack)
      remediation        = one(module.remediation)
    } : name => capability if capability != null
  }
  # The capabilities that read member accounts (and may fan out).
  member_readers = { for name in ["sg_inventory", "unused_sg_audit"] : name => local.capabilities[name] if contains(keys(local.capabilities), name) }
  # ... and those that assume the member role: the readers, and the change notifier (exposure and tags of a
  # member account's group at alert time).
  member_role_users = merge(local.member_readers, {
    for name in ["sg_change_notifier"] : name => local.capabilities[name]
    if contains(keys(local.capabilities), name) && var.change_alerts_mode == "lambda"
  })
}

output "lambda_function_names" {
  description = "Deployed function name per capability (e.g. sg_inventory); only enabled capabilities appear."
  value       = { for name, capability in local.capabilities : name => capability.function_name if capability.function_name != null }
}

output "slack_token_secret_arn" {
  description = "Secret the functions read the Slack bot token from (set its value when slack.create_token_secret = true); null without Slack."
  value       = local.slack_token_secret_arn
}

output "reachability_path_ids" {
  description = "Paths the reachability guard checks (given and created); null when it is disabled."
  value       = try(module.reachability_check[0].path_ids, null)
}

output "function_role_arns" {
  description = "Execution role ARN per capability that assumes the member role (sg_inventory, unused_sg_audit, sg_change_notifier when enabled); trust all of them in modules/member-role or modules/organization-members."
  value       = { for name, capability in local.member_role_users : name => capability.role_arn }
}

output "event_bus_arn" {
  description = "Event bus the change alerts and the reachability guard listen on; member accounts forward to it (modules/event-forwarder)."
  value       = local.event_bus_arn
}

output "change_alerts_dead_letter_queue_url" {
  description = "Queue of change events EventBridge could not deliver (null when disabled)."
  value       = try(module.sg_change_alerts[0].dead_letter_queue_url, null)
}

output "fan_out_queues" {
  description = "With fan_out: the work queue and the dead-letter queue of pairs that kept failing, per capability (empty otherwise)."
  value = { for name, capability in local.member_readers : name => {
    work_queue_url             = capability.work_queue_url
    work_dead_letter_queue_url = capability.work_dead_letter_queue_url
  } if var.fan_out }
}

output "key_guard_topic_arn" {
  description = "Topic alerted when the module's KMS key is disabled or scheduled for deletion (subscribed by alert_emails; not KMS-encrypted, since it must work while that key is unusable). null with your own kms_key_arn."
  value       = one(aws_sns_topic.key_guard[*].arn)
}

output "remediation_interaction_url" {
  description = "With remediation: the Slack app's interactivity request URL (null when remediation is off)."
  value       = try(module.remediation[0].interaction_url, null)
}

output "remediation_signing_secret_arn" {
  description = "With remediation: the Secrets Manager secret to set to the Slack app's signing secret (null when remediation is off)."
  value       = try(module.remediation[0].signing_secret_arn, null)
}

output "remediation_role_arn" {
  description = "With remediation and Slack: the remediation function's execution role, which a member account's remediation role trusts (modules/member-role remediation_trusted_role_arns; remediation_trusted_role_arns lists it with the notifier's in auto mode)."
  value       = try(module.remediation[0].role_arn, null)
}

output "remediation_trusted_role_arns" {
  description = "With remediation: every role that assumes a member account's remediation role, for modules/member-role remediation_trusted_role_arns: the remediation function's (with Slack) and, in auto mode, the change notifier's (it reverts a member account's change at alert time). Empty when remediation is off."
  value = compact([
    try(module.remediation[0].role_arn, null),
    try(var.remediation.mode, "") == "auto" ? try(module.sg_change_alerts[0].role_arn, null) : null,
  ])
}

output "evidence_query_policy_arn" {
  description = "With enable_evidence_queries: an IAM policy to attach to a person or role to run the evidence workgroup's queries over the evidence tables, and nothing else (null otherwise)."
  value       = try(module.evidence_queries[0].query_policy_arn, null)
}

output "evidence_query_workgroup" {
  description = "With enable_evidence_queries: the Athena workgroup and Glue database of the evidence tables (null otherwise)."
  value = try({
    workgroup = module.evidence_queries[0].workgroup_name
    database  = module.evidence_queries[0].database_name
  }, null)
}
