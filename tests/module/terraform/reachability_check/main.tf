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

# What the test reads: every output of the module, and what the root would have handed it.
output "module" {
  value = module.reachability_check
}

output "support" {
  value = module.support
}

output "given_event_pattern" {
  value = local.event_pattern
}
