# The securityhub-report module on its own, with the module key and alert topic the root
# would pass it (../support), and the token secret created empty (the operator sets its value).

module "support" {
  source = "../support"

  name = "shr-test"
}

module "securityhub_report" {
  source = "../../../../modules/securityhub-report"

  name_prefix     = "shr-test"
  lambda_settings = module.support.lambda_settings
  slack = {
    create_token_secret = true
    channel_id          = "C0REPORTS"
  }
  slack_token_secret_recovery_days = 0
  control_ids                      = ["EC2.2", "EC2.19", "S3.1"]
  owner_slack_ids                  = { "team-a" = "U0TEAMA" }
  schedule_timezone                = "Europe/Paris"
}

# What the test reads: every output of the module, and what the root would have handed it.
output "module" {
  value = module.securityhub_report
}

output "support" {
  value = module.support
}
