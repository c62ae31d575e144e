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
  description = "Evidence bucket holding the last known state of each path."
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
  description = "SNS topic receiving the transition alerts (blocked, restored, analysis failed, path missing)."
  type        = string
}

variable "event_pattern" {
  description = "EventBridge pattern (JSON) of the security-group change events that trigger a re-check. The module sets its account and region keys to its own account and region, where the paths are."
  type        = string

  validation {
    condition     = can(keys(jsondecode(var.event_pattern)))
    error_message = "event_pattern must be a JSON object (an EventBridge event pattern)."
  }
}

variable "event_bus_name" {
  description = "Event bus carrying the security-group change events."
  type        = string
  default     = "default"
}

variable "path_ids" {
  description = "Existing Reachability Analyzer paths (nip-...) to keep checking."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.path_ids : can(regex("^nip-[0-9a-f]{8,17}$", id))])
    error_message = "Each path id must look like nip-0123456789abcdef0."
  }
}

variable "paths" {
  description = "Paths the module creates (aws_ec2_network_insights_path) and checks: name, source and destination (resource ids or ARNs), protocol (tcp/udp), destination port, optional source/destination IPs."
  type = list(object({
    name             = string
    source           = string
    destination      = string
    protocol         = optional(string, "tcp")
    destination_port = optional(number)
    source_ip        = optional(string)
    destination_ip   = optional(string)
  }))
  default = []

  validation {
    condition     = length(distinct([for p in var.paths : p.name])) == length(var.paths)
    error_message = "Path names must be unique."
  }

  validation {
    condition     = alltrue([for p in var.paths : contains(["tcp", "udp"], p.protocol)])
    error_message = "protocol must be tcp or udp."
  }

  validation {
    condition     = alltrue([for p in var.paths : p.destination_port == null ? true : p.destination_port >= 0 && p.destination_port <= 65535])
    error_message = "destination_port must be between 0 and 65535."
  }
}

variable "batch_window_seconds" {
  description = "Batching window of the event source mapping: changes within it cost one analysis per affected path."
  type        = number
  default     = 120

  validation {
    condition     = var.batch_window_seconds >= 0 && var.batch_window_seconds <= 300 && floor(var.batch_window_seconds) == var.batch_window_seconds
    error_message = "batch_window_seconds must be a whole number of seconds between 0 and 300."
  }
}

variable "schedule_expression" {
  description = "Optional EventBridge Scheduler expression re-checking every path (drift not caused by SG API calls); null disables it."
  type        = string
  default     = null
}

variable "timeout" {
  description = "Function timeout in seconds; analyses still running near its end are collected by the next invocation."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout >= 60 && var.timeout <= 900
    error_message = "timeout must be between 60 and 900 seconds."
  }
}

variable "slack_token_secret_arn" {
  description = "Optional Secrets Manager secret holding the Slack bot token (never the token itself)."
  type        = string
  default     = null
}

variable "slack_channel_id" {
  description = "Optional Slack channel id receiving the alerts too."
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
