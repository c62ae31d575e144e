# The reachability-check module on its own, with the module key, alert topic and evidence
# bucket the root would pass it (../support). Paths are given by id: the emulator has no
# Reachability Analyzer API (the test serves those calls from a loopback fake).

module "support" {
  source = "../support"

  name            = "rc-test"
  evidence_bucket = true
}

locals {
  # what the root module declares as local.sg_change_event_pattern
  event_pattern = jsonencode(jsondecode(file("${path.module}/../../../../modules/sg-change-alerts/event-pattern.json")))
}

module "reachability_check" {
  source = "../../../../modules/reachability-check"

  name_prefix         = "rc-test"
  lambda_settings     = module.support.lambda_settings
  evidence            = module.support.evidence
  alert_topic_arn     = module.support.alert_topic_arn
  event_pattern       = local.event_pattern
  path_ids            = ["nip-0b26f224f1d131fa8", "nip-0123456789abcdef0"]
  schedule_expression = "rate(6 hours)"
}

output "function_name" {
  value = module.reachability_check.function_name
}

output "role_name" {
  value = module.reachability_check.role_name
}

output "queue_url" {
  value = module.reachability_check.queue_url
}

output "queue_arn" {
  value = module.reachability_check.queue_arn
}

output "dlq_url" {
  value = module.reachability_check.dlq_url
}

output "rule_name" {
  value = module.reachability_check.rule_name
}

output "rule_arn" {
  value = module.reachability_check.rule_arn
}

output "path_ids" {
  value = module.reachability_check.path_ids
}

output "event_pattern" {
  value = local.event_pattern
}

output "kms_key_arn" {
  value = module.support.kms_key_arn
}

output "alert_topic_arn" {
  value = module.support.alert_topic_arn
}

output "bucket" {
  value = module.support.evidence.bucket_name
}
