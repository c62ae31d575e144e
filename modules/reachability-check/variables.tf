variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function: modules/lambda-function's settings, which it validates."
  type        = any
}

variable "evidence" {
  description = "Evidence bucket holding the last known state of each path: bucket_name, bucket_arn and the key prefix (ends with /)."
  type        = any
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

variable "schedule_timezone" {
  description = "Time zone of a cron schedule expression (IANA name)."
  type        = string
  default     = "UTC"
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

variable "slack" {
  description = "Slack channel receiving the alerts too (modules/lambda-function's slack: token_secret_arn, channel_id, optional secret_kms_key_arn and api_url); null for none."
  type        = any
  default     = null
}
