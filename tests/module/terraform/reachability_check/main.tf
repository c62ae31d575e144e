# The reachability-check module on its own, with the module key, alert topic and evidence
# bucket the root would pass it. Paths are given by id: the emulator has no Reachability
# Analyzer API (the test serves those calls from a loopback fake).

resource "aws_kms_key" "module" {
  description             = "SG Watch test module key"
  enable_key_rotation     = true
  deletion_window_in_days = 7
}

resource "aws_sns_topic" "alerts" {
  name              = "rc-test-alerts"
  kms_master_key_id = aws_kms_key.module.arn
}

resource "aws_s3_bucket" "evidence" {
  bucket        = "rc-test-evidence"
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

locals {
  event_pattern = jsonencode({
    source        = ["aws.ec2"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = {
      eventSource = ["ec2.amazonaws.com"]
      eventName = [
        "CreateSecurityGroup",
        "DeleteSecurityGroup",
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress",
        "ModifySecurityGroupRules",
        "UpdateSecurityGroupRuleDescriptionsIngress",
        "UpdateSecurityGroupRuleDescriptionsEgress",
      ]
    }
  })
}

module "reachability_check" {
  source = "../../../../modules/reachability-check"

  name_prefix = "rc-test"
  lambda_settings = {
    runtime            = "python3.13"
    architecture       = "arm64"
    log_retention_days = 30
    kms_key_arn        = aws_kms_key.module.arn
    alarm_topic_arn    = aws_sns_topic.alerts.arn
    tags               = { Project = "sgwatch-test" }
  }
  evidence_bucket_name = aws_s3_bucket.evidence.id
  evidence_bucket_arn  = aws_s3_bucket.evidence.arn
  evidence_prefix      = "security-groups/"
  alert_topic_arn      = aws_sns_topic.alerts.arn
  event_pattern        = local.event_pattern
  path_ids             = ["nip-0b26f224f1d131fa8", "nip-0123456789abcdef0"]
  schedule_expression  = "rate(6 hours)"

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.evidence]
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
  value = aws_kms_key.module.arn
}

output "alert_topic_arn" {
  value = aws_sns_topic.alerts.arn
}

output "bucket" {
  value = aws_s3_bucket.evidence.id
}
