# modules/sg-change-alerts on its own, twice: the default (function) mode with evidence bucket,
# Slack secret, change control, one member account and remediation (approve mode: the Revert button,
# and modules/remediation beside it, as the root wires them), and the direct mode (EventBridge -> SNS,
# no compute). The module key, alert topic and evidence bucket are what the root would pass
# (../support).

module "support" {
  source = "../support"

  name            = "ca-test"
  evidence_bucket = true
}

resource "aws_secretsmanager_secret" "slack" {
  name       = "ca-test-slack-token"
  kms_key_id = module.support.kms_key_arn
}

resource "aws_secretsmanager_secret_version" "slack" {
  secret_id     = aws_secretsmanager_secret.slack.id
  secret_string = jsonencode({ token = "xoxb-test" })
}

module "change_alerts" {
  source = "../../../../modules/sg-change-alerts"

  name_prefix     = "ca-test"
  lambda_settings = module.support.lambda_settings
  # what the root module declares as local.sg_change_event_pattern
  event_pattern   = file("${path.module}/../../../../modules/sg-change-alerts/event-pattern.json")
  alert_topic_arn = module.support.alert_topic_arn
  evidence        = module.support.evidence
  slack = {
    token_secret_arn = aws_secretsmanager_secret.slack.arn
    channel_id       = "C0123456789"
  }

  approved_change_principals = ["arn:aws:iam::123456789012:role/deployer"]
  iac_managed_tag_keys       = ["aws:cloudformation:stack-id", "ManagedBy"]
  # what the root passes: its member accounts, never fanned out
  accounts    = { ids = ["210987654321"], fan_out = false }
  remediation = local.remediation
}

# approve, as applied; tests/module/test_change_alerts.py plans the flip to auto over the applied deployment.
variable "remediation_mode" {
  type    = string
  default = "approve"
}

locals {
  remediation = { approvers = ["U0APPROVER"], mode = var.remediation_mode }
}

module "remediation" {
  source = "../../../../modules/remediation"

  name_prefix     = "ca-test"
  lambda_settings = module.support.lambda_settings
  evidence        = module.support.evidence
  slack = {
    token_secret_arn = aws_secretsmanager_secret.slack.arn
    channel_id       = "C0123456789"
  }
  remediation = local.remediation
  # what the root passes: the member accounts, through their remediation role
  accounts = { ids = ["210987654321"], fan_out = false, lists_organization = false, member_role_name = "sgwatch-member-remediation" }
}

# Auto mode without Slack: the notifier itself reverts a qualifying change at alert time (on its own bus,
# so the events put on the default bus reach the notifier above only), in the member account through its
# remediation role.
resource "aws_cloudwatch_event_bus" "auto" {
  name = "ca-auto-bus"
}

module "auto" {
  source = "../../../../modules/sg-change-alerts"

  name_prefix                = "ca-auto"
  lambda_settings            = module.support.lambda_settings
  event_bus_name             = aws_cloudwatch_event_bus.auto.name
  alert_topic_arn            = module.support.alert_topic_arn
  evidence                   = module.support.evidence
  approved_change_principals = ["arn:aws:iam::123456789012:role/deployer"]
  remediation                = { mode = "auto" }
  # what the root passes: its member accounts, never fanned out (and the remediation role's name, the default)
  accounts = { ids = ["210987654321"], fan_out = false, lists_organization = false }
}

module "direct" {
  source = "../../../../modules/sg-change-alerts"

  name_prefix     = "ca-direct"
  mode            = "direct"
  lambda_settings = module.support.lambda_settings
  alert_topic_arn = module.support.alert_topic_arn
}

output "function_name" {
  value = module.change_alerts.function_name
}

output "function_arn" {
  value = module.change_alerts.function_arn
}

output "rule_name" {
  value = module.change_alerts.rule_name
}

output "rule_arn" {
  value = module.change_alerts.rule_arn
}

output "dead_letter_queue_arn" {
  value = module.change_alerts.dead_letter_queue_arn
}

output "dead_letter_queue_url" {
  value = module.change_alerts.dead_letter_queue_url
}

output "direct_rule_name" {
  value = module.direct.rule_name
}

output "direct_rule_arn" {
  value = module.direct.rule_arn
}

output "direct_function_name" {
  value = module.direct.function_name
}

output "direct_dead_letter_queue_url" {
  value = module.direct.dead_letter_queue_url
}

output "direct_dead_letter_queue_arn" {
  value = module.direct.dead_letter_queue_arn
}

output "alert_topic_arn" {
  value = module.support.alert_topic_arn
}

output "bucket" {
  value = module.support.evidence.bucket_name
}

output "slack_secret_arn" {
  value = aws_secretsmanager_secret.slack.arn
}

output "remediation_function_name" {
  value = module.remediation.function_name
}

output "remediation_interaction_url" {
  value = module.remediation.interaction_url
}

output "remediation_signing_secret_arn" {
  value = module.remediation.signing_secret_arn
}

output "remediation_work_queue_url" {
  value = module.remediation.work_queue_url
}

output "auto_function_name" {
  value = module.auto.function_name
}
