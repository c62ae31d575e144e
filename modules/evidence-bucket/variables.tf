variable "bucket_name" {
  description = "Name of the evidence bucket."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS default encryption."
  type        = string
}

variable "retention_days" {
  description = "Days an evidence object (and its noncurrent versions) is kept before lifecycle expiry."
  type        = number
  default     = 400
  validation {
    condition     = var.retention_days >= 365
    error_message = "PCI DSS 10.5.1 asks for at least 12 months of evidence: retention_days must be >= 365."
  }
}

variable "object_lock_mode" {
  description = "S3 Object Lock default retention mode (GOVERNANCE or COMPLIANCE); null disables Object Lock."
  type        = string
  default     = null
  validation {
    condition     = var.object_lock_mode == null || contains(["GOVERNANCE", "COMPLIANCE"], coalesce(var.object_lock_mode, "-"))
    error_message = "object_lock_mode must be GOVERNANCE, COMPLIANCE or null."
  }
}

variable "object_lock_days" {
  description = "Default Object Lock retention in days (with object_lock_mode), a whole number, at least 1."
  type        = number
  default     = 400

  validation {
    condition     = var.object_lock_days >= 1 && floor(var.object_lock_days) == var.object_lock_days
    error_message = "object_lock_days must be a whole number of days, at least 1 (S3 refuses a shorter default retention)."
  }
}

variable "access_log_bucket" {
  description = "Bucket receiving S3 server access logs of the evidence bucket; null disables access logging."
  type        = string
  default     = null
}

variable "access_log_prefix" {
  description = "Key prefix of the access logs."
  type        = string
  default     = "s3-access-logs/"
}

variable "destroy_protection" {
  description = "Refuse any plan that destroys or replaces the bucket (a guard resource with prevent_destroy), so `terraform destroy` leaves the evidence, its versioning, policy and encryption in place. Turning it on changes nothing else; to turn it off, first remove the guard from the state (see the root README's upgrade section). Set false only for a throwaway deployment."
  type        = bool
  default     = true
}

variable "delete_principal_arns" {
  description = "Break-glass principals (IAM role or user ARNs, wildcards allowed) that may delete evidence objects; the bucket policy denies deletion to everyone else. Lifecycle expiry is not affected."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.delete_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:", arn))])
    error_message = "delete_principal_arns must be IAM role or user ARNs (arn:aws:iam::ACCOUNT:role/NAME)."
  }
}

variable "force_destroy" {
  description = "Allow destroying a non-empty bucket (only for tests and demos, with destroy_protection = false; never for real evidence). Refused together with object_lock_mode."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "query_results_prefix" {
  description = "Key prefix (ends with /) of Athena query results kept in the bucket, outside the evidence prefix: expired after query_results_days by lifecycle and exempt from the write-once rule (Athena writes results without If-None-Match); null for none."
  type        = string
  default     = null
}

variable "query_results_days" {
  description = "Days a query result is kept under query_results_prefix."
  type        = number
  default     = 30
}
