variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function: modules/lambda-function's settings, which it validates."
  type        = any
}

variable "evidence" {
  description = "Evidence bucket receiving the unused-group reports: bucket_name, bucket_arn and the key prefix (ends with /, or empty)."
  type        = any
}

variable "alert_topic_arn" {
  description = "SNS topic receiving the summary when groups become newly unused."
  type        = string
}

variable "regions" {
  description = "Regions to audit; empty means the function's own region (modules/lambda-function's accounts.regions, which it validates)."
  type        = list(string)
  default     = []
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression of the audit run (rate, cron or at)."
  type        = string
  default     = "rate(7 days)"
}

variable "schedule_timezone" {
  description = "Time zone of cron schedule expressions."
  type        = string
  default     = "UTC"
}

variable "exempt_tag_key" {
  description = "Tag key that exempts a group from being reported as unused (any value)."
  type        = string
  default     = "sgwatch:keep"

  validation {
    condition     = length(trimspace(var.exempt_tag_key)) > 0 && length(var.exempt_tag_key) <= 128
    error_message = "exempt_tag_key must be a non-empty tag key of at most 128 characters."
  }
}

variable "grace_days" {
  description = "Groups younger than this many days (0-90) are not reported as unused (when their creation time is known)."
  type        = number
  default     = 7

  validation {
    condition     = var.grace_days >= 0 && var.grace_days <= 90 && floor(var.grace_days) == var.grace_days
    error_message = "grace_days must be a whole number of days from 0 to 90: creation times come from CloudTrail's event history, which keeps 90 days."
  }
}

variable "allow_partial" {
  description = "Declare groups unused even when some source could not be scanned (AccessDenied, not available in the region)."
  type        = bool
  default     = false
}

variable "securityhub_sync" {
  description = "Suppress Security Hub findings of the control ids on groups in use (with the reasons), and re-open the ones this function suppressed once their reasons are gone."
  type        = bool
  default     = false
}

variable "securityhub_control_ids" {
  description = "Security Hub control ids whose findings are synchronised."
  type        = list(string)
  default     = ["EC2.22"]

  validation {
    condition     = length(var.securityhub_control_ids) > 0 && alltrue([for c in var.securityhub_control_ids : can(regex("^[A-Za-z0-9]+\\.[0-9]+$", c))])
    error_message = "securityhub_control_ids must be non-empty control ids such as EC2.22."
  }
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
  default     = 900
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
  default     = 512
}

variable "accounts" {
  description = "Accounts covered besides the own one, and the fan-out: modules/lambda-function's accounts."
  type        = any
  default     = {}
}
