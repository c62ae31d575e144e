# The securityhub-report module on its own, with the module key and alert topic the root
# would pass it, and the token secret created empty (the operator sets its value).

resource "aws_kms_key" "module" {
  description             = "SG Watch test module key"
  enable_key_rotation     = true
  deletion_window_in_days = 7
}

resource "aws_sns_topic" "alerts" {
  name              = "shr-test-alerts"
  kms_master_key_id = aws_kms_key.module.arn
}

module "securityhub_report" {
  source = "../../../../modules/securityhub-report"

  name_prefix = "shr-test"
  lambda_settings = {
    runtime            = "python3.13"
    architecture       = "arm64"
    log_retention_days = 30
    kms_key_arn        = aws_kms_key.module.arn
    alarm_topic_arn    = aws_sns_topic.alerts.arn
    tags               = { Project = "sgwatch-test" }
  }
  create_slack_token_secret        = true
  slack_token_secret_recovery_days = 0
  slack_channel_id                 = "C0REPORTS"
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
  value = aws_kms_key.module.arn
}

output "alert_topic_arn" {
  value = aws_sns_topic.alerts.arn
}
