variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function (see modules/lambda-function)."
  type = object({
    runtime                  = string
    architecture             = string
    log_retention_days       = number
    permissions_boundary_arn = optional(string)
    kms_key_arn              = string
    alarm_topic_arn          = optional(string)
    tags                     = optional(map(string), {})
  })
}

variable "evidence_bucket_name" {
  description = "Evidence bucket receiving the unused-group reports."
  type        = string
}

variable "evidence_bucket_arn" {
  description = "ARN of the evidence bucket."
  type        = string
}

variable "evidence_prefix" {
  description = "Key prefix of the evidence (ends with /, or empty)."
  type        = string
  default     = "security-groups/"
}

variable "alert_topic_arn" {
  description = "SNS topic receiving the summary when groups become newly unused."
  type        = string
}

variable "regions" {
  description = "Regions to audit; empty means the function's own region."
  type        = list(string)
  default     = []
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression of the audit run (rate, cron or at)."
  type        = string
  default     = "rate(7 days)"

  validation {
    condition     = can(regex("^(rate|cron|at)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be a rate(...), cron(...) or at(...) expression."
  }
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
  description = "Accounts covered besides the own one: ids, the whole organisation (its id, when known, limits the member roles assumed to its accounts), exclusions, the member role to assume, how many (account, region) pairs run at once, and whether a run is spread over an SQS work queue (one queued run per pair, at most fan_out_max_concurrency at once)."
  type = object({
    ids                = optional(list(string), [])
    from_organizations = optional(bool, false)
    excluded           = optional(list(string), [])
    member_role_name   = optional(string, "sgwatch-member-read")
    max_workers        = optional(number, 8)
    # With from_organizations: roles are assumed only in this organisation's accounts (aws:ResourceOrgID).
    organization_id = optional(string)
    # Beyond one run's 15 minutes: one queued run per (account, region) pair (see modules/lambda-function work_queue).
    fan_out                 = optional(bool, false)
    fan_out_max_concurrency = optional(number, 5)
  })
  default = {}
}
