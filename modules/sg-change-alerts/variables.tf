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
  description = "Which alerts carry the Revert button (the root's remediation: mode, min_severity, only_out_of_band; modules/remediation validates it); null: none."
  type = object({
    mode               = optional(string, "approve")
    min_severity       = optional(string, "CRITICAL")
    only_out_of_band   = optional(bool, true)
    approvers          = optional(list(string), [])
    exception_max_days = optional(number, 30)
  })
  default = null
}
