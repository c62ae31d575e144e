variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function: modules/lambda-function's settings, which it validates; kms_key_arn also encrypts the direct-mode dead-letter queue."
  type        = any
}

variable "mode" {
  description = "\"lambda\": the sg_change_notifier function enriches each event (before/after, severity, de-duplication, Slack). \"direct\": EventBridge sends the raw facts straight to the SNS topic through an input transformer (no compute, no enrichment)."
  type        = string
  default     = "lambda"

  validation {
    condition     = contains(["lambda", "direct"], var.mode)
    error_message = "mode must be \"lambda\" or \"direct\"."
  }
}

variable "event_pattern" {
  description = "EventBridge event pattern (JSON) of the security-group API calls; null uses event-pattern.json of this module."
  type        = string
  default     = null
}

variable "event_bus_name" {
  description = "Event bus receiving the CloudTrail API-call events (\"default\" unless they are forwarded to a custom bus)."
  type        = string
  default     = "default"
}

variable "alert_topic_arn" {
  description = "SNS topic receiving the alerts. In direct mode its policy must allow events.amazonaws.com to publish."
  type        = string
}

variable "evidence" {
  description = "Evidence bucket for event records (de-duplication markers) and group state: bucket_name, bucket_arn and the key prefix (ends with /); null disables both."
  type        = any
  default     = null
}

variable "slack" {
  description = "Slack channel receiving one message per event (modules/lambda-function's slack: token_secret_arn, channel_id, optional secret_kms_key_arn and api_url); null leaves Slack off."
  type        = any
  default     = null
}

variable "slack_enabled" {
  description = "Whether the function posts to Slack; null posts when slack is set."
  type        = bool
  default     = null
}

variable "maximum_retry_attempts" {
  description = "EventBridge retries of a failed delivery before the event goes to the dead-letter queue."
  type        = number
  default     = 8
}

variable "maximum_event_age_in_seconds" {
  description = "Age after which EventBridge stops retrying an event and sends it to the dead-letter queue."
  type        = number
  default     = 3600
}

variable "authorized_public_ports" {
  description = "Ports that may be open to the whole internet: world ingress to these ports only is rated LOW (the root's authorized_public_ports)."
  type        = list(number)
  default     = [80, 443]
}

variable "approved_change_principals" {
  description = "IAM ARN patterns (`*` wildcards) whose changes went through change control (the root's approved_change_principals); empty: change control not configured."
  type        = list(string)
  default     = []
}

variable "iac_managed_tag_keys" {
  description = "Tag keys that mark a group as managed by infrastructure as code (the root's iac_managed_tag_keys)."
  type        = list(string)
  default     = ["aws:cloudformation:stack-id"]
}

variable "justification_tag_keys" {
  description = "The tag keys of a rule's justification, owner, ticket and expiry date that the alert's Justification line reads (the root's rule_review.tag_keys; modules/sg-inventory validates them); keys left out keep their defaults."
  type        = map(string)
  default     = {}
}

variable "justify_private_peers" {
  description = "Whether a rule whose peer is a private address range or its own group is justified by policy (the root's rule_review.justify_private_peers)."
  type        = bool
  default     = false
}

variable "accounts" {
  description = "Member accounts whose forwarded events the function may describe through their member role (modules/lambda-function's accounts, fan_out false); null: only the own account is described."
  type        = any
  default     = null
}

variable "remediation" {
  description = "The root's remediation (mode approve: which alerts carry the Revert button; mode auto: which changes the notifier reverts at alert time), validated here, the one module every mode needs; null: none."
  type = object({
    mode               = optional(string, "approve")
    min_severity       = optional(string, "CRITICAL")
    only_out_of_band   = optional(bool, true)
    approvers          = optional(list(string), [])
    exception_max_days = optional(number, 30)
  })
  default = null

  validation {
    condition     = var.remediation == null || contains(["approve", "auto"], try(var.remediation.mode, ""))
    error_message = "remediation.mode must be \"approve\" (an approver reverts from Slack) or \"auto\" (the notifier reverts at alert time)."
  }
  validation {
    condition     = var.remediation == null || contains(["CRITICAL", "HIGH", "MEDIUM", "LOW"], try(var.remediation.min_severity, ""))
    error_message = "remediation.min_severity must be CRITICAL, HIGH, MEDIUM or LOW."
  }
  validation {
    condition     = var.remediation == null || alltrue([for id in try(var.remediation.approvers, []) : can(regex("^[UWS][A-Z0-9]{2,20}$", id))])
    error_message = "remediation.approvers must be Slack user ids (U0123ABCD, W0123ABCD) or user-group ids (S0123ABCD), not names."
  }
  validation {
    condition     = var.remediation == null || try(var.remediation.mode, "") != "approve" || length(try(var.remediation.approvers, [])) > 0
    error_message = "remediation.approvers must name at least one Slack user or user group in approve mode: nobody else may revert (auto mode needs none: approvers only restore a reverted change from Slack)."
  }
  validation {
    # The ids travel in the remediation function's environment, 4 KB in all.
    condition     = var.remediation == null || length(join(",", try(var.remediation.approvers, []))) <= 1024
    error_message = "remediation.approvers must fit in 1024 characters joined by commas (Lambda environment limit): use user groups."
  }
  validation {
    condition     = var.remediation == null || (try(var.remediation.exception_max_days, 0) >= 1 && try(var.remediation.exception_max_days, 0) <= 365 && floor(try(var.remediation.exception_max_days, 0.5)) == try(var.remediation.exception_max_days, 0))
    error_message = "remediation.exception_max_days must be a whole number of days from 1 to 365."
  }
}

variable "remediation_role_name" {
  description = "The member accounts' remediation role (modules/member-role remediation_role_name): in auto mode with member accounts, the notifier assumes arn:PARTITION:iam::ACCOUNT:role/NAME, and no other role, to revert a member account's change at alert time."
  type        = string
  default     = "sgwatch-member-remediation"
}
