variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function: modules/lambda-function's settings, which it validates; kms_key_arn also encrypts the signing secret."
  type        = any
}

variable "remediation" {
  description = "The root's remediation input: mode (approve), min_severity, only_out_of_band, approvers (Slack user ids U.../W... or user-group ids S...) and exception_max_days. Validated here."
  type = object({
    mode               = optional(string, "approve")
    min_severity       = optional(string, "CRITICAL")
    only_out_of_band   = optional(bool, true)
    approvers          = optional(list(string), [])
    exception_max_days = optional(number, 30)
  })

  validation {
    condition     = var.remediation.mode == "approve"
    error_message = "remediation.mode must be \"approve\" (a person approves each revert from Slack); \"auto\" is not available in this release."
  }
  validation {
    condition     = contains(["CRITICAL", "HIGH", "MEDIUM", "LOW"], var.remediation.min_severity)
    error_message = "remediation.min_severity must be CRITICAL, HIGH, MEDIUM or LOW."
  }
  validation {
    condition     = alltrue([for id in var.remediation.approvers : can(regex("^[UWS][A-Z0-9]{2,20}$", id))])
    error_message = "remediation.approvers must be Slack user ids (U0123ABCD, W0123ABCD) or user-group ids (S0123ABCD), not names."
  }
  validation {
    condition     = var.remediation.mode != "approve" || length(var.remediation.approvers) > 0
    error_message = "remediation.approvers must name at least one Slack user or user group in approve mode: nobody else may revert."
  }
  validation {
    # The ids travel in the function's environment, 4 KB in all.
    condition     = length(join(",", var.remediation.approvers)) <= 1024
    error_message = "remediation.approvers must fit in 1024 characters joined by commas (Lambda environment limit): use user groups."
  }
  validation {
    condition     = var.remediation.exception_max_days >= 1 && var.remediation.exception_max_days <= 365 && floor(var.remediation.exception_max_days) == var.remediation.exception_max_days
    error_message = "remediation.exception_max_days must be a whole number of days from 1 to 365."
  }
}

variable "evidence" {
  description = "Evidence bucket (bucket_name, bucket_arn, prefix): the alerts' event records are read there, and each decision and outcome is written there once."
  type        = any
}

variable "slack" {
  description = "Slack of the alerts (modules/lambda-function's slack): the function updates the alert message and answers the person who clicked."
  type        = any
}

variable "accounts" {
  description = "Member accounts whose changes may be reverted (modules/lambda-function's accounts, fan_out false); their member_role_name is the remediation role. null: only the own account."
  type        = any
  default     = null
}
