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

output "function_name" {
  value = module.securityhub_report.function_name
}

output "role_name" {
  value = module.securityhub_report.role_name
}

output "slack_token_secret_arn" {
  value = module.securityhub_report.slack_token_secret_arn
}

output "kms_key_arn" {
  value = module.support.kms_key_arn
}

output "alert_topic_arn" {
  value = module.support.alert_topic_arn
}
