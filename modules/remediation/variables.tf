variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function: modules/lambda-function's settings, which it validates; kms_key_arn also encrypts the signing secret."
  type        = any
}

variable "remediation" {
  description = "The root's remediation input: mode, min_severity, only_out_of_band, approvers (Slack user ids U.../W... or user-group ids S...) and exception_max_days. Validated by modules/sg-change-alerts (the notifier, which every remediation mode needs)."
  type = object({
    mode               = optional(string, "approve")
    min_severity       = optional(string, "CRITICAL")
    only_out_of_band   = optional(bool, true)
    approvers          = optional(list(string), [])
    exception_max_days = optional(number, 30)
  })
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
