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

output "lambda_function_names" {
  description = "Deployed function name per capability (e.g. sg_inventory); only enabled capabilities appear."
  value = {
    for name, function_name in {
      sg_inventory       = try(module.sg_inventory[0].function_name, null)
      sg_change_notifier = try(module.sg_change_alerts[0].function_name, null)
      securityhub_report = try(module.securityhub_report[0].function_name, null)
      unused_sg_audit    = try(module.unused_sg_audit[0].function_name, null)
      reachability_check = try(module.reachability_check[0].function_name, null)
      review_pack        = try(module.review_pack[0].function_name, null)
    } : name => function_name if function_name != null
  }
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
  description = "Execution role ARN per capability that reads member accounts; trust these in modules/member-role."
  value = {
    for name, arn in {
      sg_inventory    = try(module.sg_inventory[0].role_arn, null)
      unused_sg_audit = try(module.unused_sg_audit[0].role_arn, null)
    } : name => arn if arn != null
  }
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
  value = {
    for name, capability in {
      sg_inventory    = try(module.sg_inventory[0], null)
      unused_sg_audit = try(module.unused_sg_audit[0], null)
      } : name => {
      work_queue_url             = capability.work_queue_url
      work_dead_letter_queue_url = capability.work_dead_letter_queue_url
    } if var.fan_out && capability != null
  }
}

output "key_guard_topic_arn" {
  description = "Topic alerted when the module's KMS key is disabled or scheduled for deletion (subscribed by alert_emails; not KMS-encrypted, since it must work while that key is unusable). null with your own kms_key_arn."
  value       = one(aws_sns_topic.key_guard[*].arn)
}
