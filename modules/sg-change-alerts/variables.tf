variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function (see modules/lambda-function); kms_key_arn also encrypts the direct-mode dead-letter queue."
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

variable "evidence_bucket_name" {
  description = "Evidence bucket for event records (de-duplication markers) and group state; null disables both."
  type        = string
  default     = null
}

variable "evidence_bucket_arn" {
  description = "ARN of the evidence bucket (required when evidence_bucket_name is set)."
  type        = string
  default     = null
}

variable "evidence_prefix" {
  description = "Key prefix of the evidence (ends with /)."
  type        = string
  default     = "security-groups/"
}

variable "slack_token_secret_arn" {
  description = "Secrets Manager secret holding the Slack bot token (bare xoxb-... or JSON {\"token\": ...}); null disables Slack."
  type        = string
  default     = null
}

variable "slack_enabled" {
  description = "Whether Slack is configured; null derives it from slack_token_secret_arn and slack_channel_id. Set it when the secret ARN is only known after apply (a secret created in the same configuration)."
  type        = bool
  default     = null
}

variable "slack_secret_kms_key_arn" {
  description = "Customer-managed KMS key encrypting the Slack secret, when it is not the AWS-managed key nor the module key."
  type        = string
  default     = null
}

variable "slack_channel_id" {
  description = "Slack channel id (C...) receiving one message per event."
  type        = string
  default     = null
}

variable "slack_api_url" {
  description = "Optional Slack Web API base URL (an egress proxy), https only."
  type        = string
  default     = null

  validation {
    condition     = var.slack_api_url == null || can(regex("^https://[^/]+", var.slack_api_url))
    error_message = "slack_api_url must be an https:// URL: every call carries the bot token (an egress proxy must terminate TLS)."
  }
}

variable "maximum_retry_attempts" {
  description = "EventBridge retries of a failed delivery before the event goes to the dead-letter queue."
  type        = number
  default     = 8

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 185
    error_message = "maximum_retry_attempts must be between 0 and 185."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "Age after which EventBridge stops retrying an event and sends it to the dead-letter queue."
  type        = number
  default     = 3600

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 86400
    error_message = "maximum_event_age_in_seconds must be between 60 and 86400."
  }
}
