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

  evidence_retention_days = 400
  evidence_force_destroy  = var.evidence_force_destroy
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

variable "evidence_force_destroy" {
  description = "Allow destroying a non-empty evidence bucket (demos and tests only)."
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
