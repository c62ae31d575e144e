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
  description = "Evidence bucket: the pack reads snapshots, diffs, change events and unused reports from it and writes under <prefix>reviews/."
  type        = string
}

variable "evidence_bucket_arn" {
  description = "ARN of the evidence bucket."
  type        = string
}

variable "evidence_prefix" {
  description = "Key prefix of the evidence (ends with /)."
  type        = string
}

variable "alert_topic_arn" {
  description = "SNS topic told where each new pack is; null for none."
  type        = string
  default     = null
}

variable "slack_token_secret_arn" {
  description = "Secrets Manager secret holding the Slack bot token (bare or JSON {\"token\": ...}); null for no Slack."
  type        = string
  default     = null
}

variable "slack_channel_id" {
  description = "Slack channel id told where each new pack is; null for no Slack."
  type        = string
  default     = null
}

variable "slack_secret_kms_key_arn" {
  description = "Customer-managed KMS key encrypting the Slack secret, when it is not the AWS-managed key nor the module key; the function may decrypt with it."
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

variable "schedule_expression" {
  description = "EventBridge Scheduler expression of the scheduled pack; each run covers the six months ending the day before. Default: 06:00 on 1 January and 1 July."
  type        = string
  default     = "cron(0 6 1 1,7 ? *)"

  validation {
    condition     = can(regex("^(cron|rate|at)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be an EventBridge Scheduler expression: cron(...), rate(...) or at(...)."
  }
}

variable "schedule_timezone" {
  description = "Time zone of the cron schedule expression (IANA name)."
  type        = string
  default     = "UTC"
}

variable "memory_size" {
  description = "Memory of the review_pack function in MB (the pack holds one period of evidence in memory)."
  type        = number
  default     = 1024
}
