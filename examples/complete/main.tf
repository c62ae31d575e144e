# Every capability that SG Watch has, with the settings a security team usually changes.
provider "aws" {
  region = var.region
}

module "sgwatch" {
  source = "../../"

  name_prefix = var.name_prefix
  tags        = { Owner = "security", CostCenter = "platform" }

  alert_emails = var.alert_emails
  regions      = var.regions

  inventory_schedule_expression = "cron(0 5 * * ? *)"
  inventory_schedule_timezone   = "Europe/Berlin"

  evidence_retention_days     = 400
  evidence_force_destroy      = var.evidence_force_destroy
  evidence_destroy_protection = !var.evidence_force_destroy

  # Weekly audit of groups nothing uses, with the reasons the others are in use.
  enable_unused_sg_audit = true
  unused_sg_grace_days   = 7

  # Security Hub report to Slack: on when a channel is given. The module creates an empty
  # secret; put the bot token in it out of band (see the README).
  enable_securityhub_report = var.slack_channel_id != null
  securityhub_control_ids   = ["EC2.2", "EC2.18", "EC2.19", "S3.1", "IAM.1"]
  slack = var.slack_channel_id == null ? null : {
    channel_id          = var.slack_channel_id
    create_token_secret = true
  }
}

variable "region" {
  description = "Region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "regions" {
  description = "Regions to inventory; empty means the deployment region."
  type        = list(string)
  default     = []
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "sgwatch"
}

variable "alert_emails" {
  description = "E-mail addresses receiving alerts."
  type        = list(string)
  default     = []
}

variable "slack_channel_id" {
  description = "Slack channel id (C...) for reports and alerts; null leaves Slack off."
  type        = string
  default     = null
}

variable "evidence_force_destroy" {
  description = "A throwaway deployment (demos and tests only): allow destroying a non-empty evidence bucket, and turn off the destroy protection of the bucket and its key."
  type        = bool
  default     = false
}

output "evidence_bucket_name" {
  description = "Evidence bucket."
  value       = module.sgwatch.evidence_bucket_name
}

output "alert_topic_arn" {
  description = "Alert topic."
  value       = module.sgwatch.alert_topic_arn
}

output "kms_key_arn" {
  description = "Module KMS key."
  value       = module.sgwatch.kms_key_arn
}

output "lambda_function_names" {
  description = "Deployed functions."
  value       = module.sgwatch.lambda_function_names
}

output "slack_token_secret_arn" {
  description = "Put the Slack bot token in this secret (aws secretsmanager put-secret-value)."
  value       = module.sgwatch.slack_token_secret_arn
}

output "key_guard_topic_arn" {
  description = "Topic alerted when the module key is disabled or scheduled for deletion."
  value       = module.sgwatch.key_guard_topic_arn
}
