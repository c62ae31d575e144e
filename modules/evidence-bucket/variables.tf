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

variable "force_destroy" {
  description = "Allow destroying a non-empty bucket (only for tests and demos; never for real evidence)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
