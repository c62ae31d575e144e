# What the root module would hand a capability module: the module key, the alert topic and, when
# asked, an evidence bucket encrypted with the key. Shared by the fixtures that call a capability
# module on its own, and by those that apply the root module beside one (given root, the root's
# key, topic and bucket are handed on instead of new ones).

variable "name" {
  description = "Prefix of the test resources' names."
  type        = string
}

variable "evidence_bucket" {
  description = "Also create an evidence bucket."
  type        = bool
  default     = false
}

variable "root" {
  description = "The root module's key, alert topic and evidence bucket, when the fixture applies it; null creates the support's own."
  type = object({
    kms_key_arn          = string
    alert_topic_arn      = string
    evidence_bucket_name = string
  })
  default = null
}

locals {
  create          = var.root == null
  kms_key_arn     = local.create ? aws_kms_key.module[0].arn : var.root.kms_key_arn
  alert_topic_arn = local.create ? aws_sns_topic.alerts[0].arn : var.root.alert_topic_arn
  evidence_bucket = local.create ? one(aws_s3_bucket_server_side_encryption_configuration.evidence[*].bucket) : var.root.evidence_bucket_name
}

resource "aws_kms_key" "module" {
  count = local.create ? 1 : 0

  description             = "SG Watch test module key"
  enable_key_rotation     = true
  deletion_window_in_days = 7
}

resource "aws_sns_topic" "alerts" {
  count = local.create ? 1 : 0

  name              = "${var.name}-alerts"
  kms_master_key_id = local.kms_key_arn
}

resource "aws_s3_bucket" "evidence" {
  count = local.create && var.evidence_bucket ? 1 : 0

  bucket        = "${var.name}-evidence"
  force_destroy = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "evidence" {
  count = local.create && var.evidence_bucket ? 1 : 0

  bucket = aws_s3_bucket.evidence[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.kms_key_arn
    }
  }
}

output "lambda_settings" {
  description = "modules/lambda-function's settings."
  value = {
    runtime            = "python3.13"
    architecture       = "arm64"
    log_retention_days = 30
    kms_key_arn        = local.kms_key_arn
    alarm_topic_arn    = local.alert_topic_arn
    tags               = { Project = "sgwatch-test" }
  }
}

output "evidence" {
  description = "The evidence bucket as the capability modules take it (null without one); known once it is encrypted."
  value = local.create && !var.evidence_bucket ? null : {
    bucket_name = local.evidence_bucket
    bucket_arn  = "arn:aws:s3:::${local.evidence_bucket}"
    prefix      = "security-groups/"
  }
}

output "kms_key_arn" {
  description = "The module key."
  value       = local.kms_key_arn
}

output "alert_topic_arn" {
  description = "The alert topic."
  value       = local.alert_topic_arn
}
