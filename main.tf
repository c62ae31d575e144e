data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

data "aws_partition" "current" {}

# Inputs that must agree with each other (a renamed input and its deprecated alias must not say two
# different things; the organisation list needs the organisation's id): checked on a data source of
# its own, read by nothing else.
data "aws_partition" "input_checks" {
  lifecycle {
    precondition {
      condition     = !var.accounts_from_organizations || var.organization_id != null
      error_message = "accounts_from_organizations needs organization_id (o-...): the member role is then assumed only in the organisation's accounts (aws:ResourceOrgID), and forwarded events are accepted from them."
    }
    precondition {
      condition     = length(local.slack_conflicts) == 0
      error_message = "slack and its deprecated aliases disagree on ${join(", ", local.slack_conflicts)}: set slack only."
    }
    precondition {
      condition     = var.remediation == null || ((local.slack_enabled || try(var.remediation.mode, "") == "auto") && var.enable_change_alerts && var.change_alerts_mode == "lambda")
      error_message = "remediation needs enable_change_alerts with change_alerts_mode = \"lambda\" (the notifier reverts in auto mode and posts the buttons in approve mode), and slack in approve mode (the Revert button is on the Slack alert)."
    }
    precondition {
      condition     = !var.enable_evidence_queries || var.evidence_prefix != ""
      error_message = "enable_evidence_queries needs a non-empty evidence_prefix: query results are kept beside it, and the functions read every folder under the evidence prefix as an account."
    }
    precondition {
      condition     = var.report_timezone == null || var.report_timezone == var.report_schedule_timezone || var.report_schedule_timezone == "UTC"
      error_message = "report_timezone (deprecated) and report_schedule_timezone disagree: set report_schedule_timezone only."
    }
  }
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  create_evidence_bucket = var.existing_evidence_bucket_name == null
  evidence_bucket_name   = local.create_evidence_bucket ? module.evidence_bucket[0].bucket_name : var.existing_evidence_bucket_name
  evidence = {
    bucket_name = local.evidence_bucket_name
    bucket_arn  = "arn:${local.partition}:s3:::${local.evidence_bucket_name}"
    prefix      = var.evidence_prefix
  }

  create_alert_topic = var.existing_alert_topic_arn == null
  alert_topic_arn    = local.create_alert_topic ? module.alert_topic[0].topic_arn : var.existing_alert_topic_arn

  account_settings = {
    ids                = var.accounts
    from_organizations = var.accounts_from_organizations
    excluded           = var.excluded_accounts
    member_role_name   = var.member_role_name
    max_workers        = var.max_workers
    organization_id    = var.organization_id

    fan_out                 = var.fan_out
    fan_out_max_concurrency = var.fan_out_max_concurrency
  }

  lambda_settings = {
    runtime                  = var.lambda_runtime
    architecture             = var.lambda_architecture
    log_retention_days       = var.log_retention_days
    permissions_boundary_arn = var.permissions_boundary_arn
    kms_key_arn              = local.kms_key_arn
    alarm_topic_arn          = local.alert_topic_arn
    tags                     = var.tags
  }

  # CloudTrail API calls that change security groups, as EventBridge delivers them: one
  # pattern file serves the change alerts, the reachability guard and the event forwarders.
  sg_change_event_pattern = jsonencode(jsondecode(file("${path.module}/modules/sg-change-alerts/event-pattern.json")))
}

module "evidence_bucket" {
  source = "./modules/evidence-bucket"
  count  = local.create_evidence_bucket ? 1 : 0

  bucket_name           = "${var.name_prefix}-evidence-${local.account_id}-${local.region}"
  kms_key_arn           = local.kms_key_arn
  retention_days        = var.evidence_retention_days
  object_lock_mode      = var.evidence_object_lock_mode
  object_lock_days      = var.evidence_object_lock_days
  access_log_bucket     = var.evidence_access_log_bucket
  force_destroy         = var.evidence_force_destroy
  destroy_protection    = var.evidence_destroy_protection
  delete_principal_arns = var.evidence_delete_principal_arns
  query_results_prefix  = var.enable_evidence_queries ? local.query_results_prefix : null
  tags                  = var.tags
}

module "alert_topic" {
  source = "./modules/alert-topic"
  count  = local.create_alert_topic ? 1 : 0

  name         = "${var.name_prefix}-alerts"
  kms_key_arn  = local.kms_key_arn
  alert_emails = var.alert_emails
  tags         = var.tags
}

module "sg_inventory" {
  source = "./modules/sg-inventory"
  count  = var.enable_sg_inventory ? 1 : 0

  name_prefix         = var.name_prefix
  lambda_settings     = local.lambda_settings
  evidence            = local.evidence
  accounts            = local.account_settings
  regions             = var.regions
  schedule_expression = var.inventory_schedule_expression
  schedule_timezone   = var.inventory_schedule_timezone

  authorized_public_ports = var.authorized_public_ports
  rule_review             = var.rule_review
  iac_state_locations     = var.iac_state_locations
  iac_managed_tag_keys    = var.iac_managed_tag_keys
  iac_cloudformation      = var.iac_cloudformation_drift
  alert_topic_arn         = local.alert_topic_arn
  slack                   = local.slack
  # Exceptions that expire: their rules alerted again through the change notifier (remediation needs it).
  remediation_notifier_arn = var.remediation == null ? null : try(module.sg_change_alerts[0].function_arn, null)
}

module "securityhub_report" {
  source = "./modules/securityhub-report"
  count  = var.enable_securityhub_report ? 1 : 0

  name_prefix         = var.name_prefix
  lambda_settings     = local.lambda_settings
  alert_topic_arn     = local.alert_topic_arn
  slack               = local.slack
  control_ids         = var.securityhub_control_ids
  severities          = var.securityhub_severities
  owner_tag_key       = var.owner_tag_key
  owner_slack_ids     = var.owner_slack_ids
  report_when_empty   = var.report_when_empty
  schedule_expression = var.report_schedule_expression
  schedule_timezone   = coalesce(var.report_timezone, var.report_schedule_timezone)
}

module "unused_sg_audit" {
  source = "./modules/unused-sg-audit"
  count  = var.enable_unused_sg_audit ? 1 : 0

  name_prefix             = var.name_prefix
  lambda_settings         = local.lambda_settings
  evidence                = local.evidence
  accounts                = local.account_settings
  alert_topic_arn         = local.alert_topic_arn
  regions                 = var.regions
  schedule_expression     = var.unused_sg_schedule_expression
  schedule_timezone       = var.unused_sg_schedule_timezone
  exempt_tag_key          = var.unused_sg_exempt_tag_key
  grace_days              = var.unused_sg_grace_days
  allow_partial           = var.unused_sg_allow_partial
  securityhub_sync        = var.unused_sg_securityhub_sync
  securityhub_control_ids = var.unused_sg_securityhub_control_ids
}

module "reachability_check" {
  source = "./modules/reachability-check"
  count  = var.enable_reachability_check ? 1 : 0

  name_prefix          = var.name_prefix
  lambda_settings      = local.lambda_settings
  evidence             = local.evidence
  slack                = local.slack
  alert_topic_arn      = local.alert_topic_arn
  event_pattern        = local.sg_change_event_pattern
  event_bus_name       = local.event_bus_name
  path_ids             = var.reachability_path_ids
  paths                = var.reachability_paths
  batch_window_seconds = var.reachability_batch_window_seconds
  schedule_expression  = var.reachability_schedule_expression
  schedule_timezone    = var.reachability_schedule_timezone
}

locals {
  enable_review_pack = coalesce(var.enable_review_pack, var.enable_sg_inventory)
}

module "review_pack" {
  source = "./modules/review-pack"
  count  = local.enable_review_pack ? 1 : 0

  name_prefix         = var.name_prefix
  lambda_settings     = local.lambda_settings
  evidence            = local.evidence
  slack               = local.slack
  alert_topic_arn     = local.alert_topic_arn
  schedule_expression = var.review_schedule_expression
  schedule_timezone   = var.review_schedule_timezone

  memory_size             = var.review_memory_size
  timeout                 = var.review_timeout
  fan_out                 = var.review_fan_out
  fan_out_max_concurrency = var.review_fan_out_max_concurrency

  authorized_public_ports = var.authorized_public_ports
}

module "sg_change_alerts" {
  source = "./modules/sg-change-alerts"
  count  = var.enable_change_alerts ? 1 : 0

  name_prefix     = var.name_prefix
  lambda_settings = local.lambda_settings
  evidence        = local.evidence
  slack           = local.slack
  mode            = var.change_alerts_mode
  event_pattern   = local.sg_change_event_pattern
  event_bus_name  = local.event_bus_name
  alert_topic_arn = local.alert_topic_arn

  # Member accounts' events are described through their member role (exposure, tags); never a work queue.
  accounts                   = merge(local.account_settings, { fan_out = false, lists_organization = false })
  authorized_public_ports    = var.authorized_public_ports
  approved_change_principals = var.approved_change_principals
  iac_managed_tag_keys       = var.iac_managed_tag_keys
  justification_tag_keys     = var.rule_review.tag_keys
  justify_private_peers      = var.rule_review.justify_private_peers
  remediation                = var.remediation
  remediation_role_name      = local.remediation_role_name
}

# The member accounts' remediation role (modules/member-role, remediation_trusted_role_arns).
locals {
  remediation_role_name = "sgwatch-member-remediation"
}

module "remediation" {
  source = "./modules/remediation"
  # Slack's interaction endpoint: with Slack only (auto mode without Slack has no buttons to click).
  count = var.remediation == null || !local.slack_enabled ? 0 : 1

  name_prefix     = var.name_prefix
  lambda_settings = local.lambda_settings
  evidence        = local.evidence
  slack           = local.slack
  remediation     = var.remediation
  # Only changes of the accounts the notifier alerts on, through their remediation role: nothing else is assumed.
  accounts = length(var.accounts) == 0 && !var.accounts_from_organizations ? null : merge(local.account_settings, {
    member_role_name = local.remediation_role_name, fan_out = false, lists_organization = false
  })
}
