# Inventory only: a daily snapshot of every security-group rule, diffed against the
# previous one, in a new hardened evidence bucket. Every other capability is off.
provider "aws" {
  region = var.region
}

module "sgwatch" {
  source = "../../"

  name_prefix                 = var.name_prefix
  evidence_force_destroy      = var.evidence_force_destroy
  evidence_destroy_protection = !var.evidence_force_destroy

  enable_sg_inventory    = true
  enable_unused_sg_audit = false
}

variable "region" {
  description = "Region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "sgwatch-min"
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

output "lambda_function_names" {
  description = "Deployed functions."
  value       = module.sgwatch.lambda_function_names
}
