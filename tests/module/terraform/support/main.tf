# What the root module would hand a capability module: the module key, the alert topic and, when
# asked, an evidence bucket encrypted with the key. Shared by the fixtures that call a capability
# module on its own.

variable "name" {
  description = "Prefix of the test resources' names."
  type        = string
}

variable "evidence_bucket" {
  description = "Also create an evidence bucket."
  type        = bool
  default     = false
}

resource "aws_kms_key" "module" {
  description             = "SG Watch test module key"
  enable_key_rotation     = true
  deletion_window_in_days = 7
}

resource "aws_sns_topic" "alerts" {
  name              = "${var.name}-alerts"
  kms_master_key_id = aws_kms_key.module.arn
}

resource "aws_s3_bucket" "evidence" {
  count = var.evidence_bucket ? 1 : 0

  bucket        = "${var.name}-evidence"
  force_destroy = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "evidence" {
  count = var.evidence_bucket ? 1 : 0

  bucket = aws_s3_bucket.evidence[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.module.arn
    }
  }
}

output "lambda_settings" {
  description = "modules/lambda-function's settings."
  value = {
    runtime            = "python3.13"
    architecture       = "arm64"
    log_retention_days = 30
    kms_key_arn        = aws_kms_key.module.arn
    alarm_topic_arn    = aws_sns_topic.alerts.arn
    tags               = { Project = "sgwatch-test" }
  }
}

output "evidence" {
  description = "The evidence bucket as the capability modules take it (null without one); known once it is encrypted."
  value = var.evidence_bucket ? {
    bucket_name = aws_s3_bucket_server_side_encryption_configuration.evidence[0].bucket
    bucket_arn  = aws_s3_bucket.evidence[0].arn
    prefix      = "security-groups/"
  } : null
}

output "kms_key_arn" {
  description = "The module key."
  value       = aws_kms_key.module.arn
}

output "alert_topic_arn" {
  description = "The alert topic."
  value       = aws_sns_topic.alerts.arn
}
