# modules/sg-change-alerts on its own, twice: the default (function) mode with evidence bucket
# and Slack secret, and the direct mode (EventBridge -> SNS, no compute). The module key, alert
# topic and evidence bucket are what the root would pass.

resource "aws_kms_key" "module" {
  description             = "SG Watch test module key"
  enable_key_rotation     = true
  deletion_window_in_days = 7
}

resource "aws_sns_topic" "alerts" {
  name              = "ca-test-alerts"
  kms_master_key_id = aws_kms_key.module.arn
}

resource "aws_s3_bucket" "evidence" {
  bucket        = "ca-test-evidence"
  force_destroy = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.module.arn
    }
  }
}

resource "aws_secretsmanager_secret" "slack" {
  name       = "ca-test-slack-token"
  kms_key_id = aws_kms_key.module.arn
}

resource "aws_secretsmanager_secret_version" "slack" {
  secret_id     = aws_secretsmanager_secret.slack.id
  secret_string = jsonencode({ token = "xoxb-test" })
}

locals {
  lambda_settings = {
    runtime            = "python3.13"
    architecture       = "arm64"
    log_retention_days = 30
    kms_key_arn        = aws_kms_key.module.arn
    alarm_topic_arn    = aws_sns_topic.alerts.arn
    tags               = { Project = "sgwatch-test" }
  }
  # what the root module declares as local.sg_change_event_pattern
  event_pattern = file("${path.module}/../../../../modules/sg-change-alerts/event-pattern.json")
}

module "change_alerts" {
  source = "../../../../modules/sg-change-alerts"

  name_prefix            = "ca-test"
  lambda_settings        = local.lambda_settings
  event_pattern          = local.event_pattern
  alert_topic_arn        = aws_sns_topic.alerts.arn
  evidence_bucket_name   = aws_s3_bucket.evidence.id
  evidence_bucket_arn    = aws_s3_bucket.evidence.arn
  evidence_prefix        = "security-groups/"
  slack_token_secret_arn = aws_secretsmanager_secret.slack.arn
  slack_channel_id       = "C0123456789"

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.evidence]
}

module "direct" {
  source = "../../../../modules/sg-change-alerts"

  name_prefix     = "ca-direct"
  mode            = "direct"
  lambda_settings = local.lambda_settings
  alert_topic_arn = aws_sns_topic.alerts.arn
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
  value = aws_sns_topic.alerts.arn
}

output "bucket" {
  value = aws_s3_bucket.evidence.id
}

output "slack_secret_arn" {
  value = aws_secretsmanager_secret.slack.arn
}
