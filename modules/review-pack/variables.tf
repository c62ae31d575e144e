variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function: modules/lambda-function's settings, which it validates."
  type        = any
}

variable "evidence" {
  description = "Evidence bucket: bucket_name, bucket_arn and the key prefix (ends with /). The pack reads snapshots, diffs, exposure reports, change events and unused reports from it and writes under <prefix>reviews/."
  type        = any
}

variable "alert_topic_arn" {
  description = "SNS topic told where each new pack is; null for none."
  type        = string
  default     = null
}

variable "slack" {
  description = "Slack channel told where each new pack is (modules/lambda-function's slack: token_secret_arn, channel_id, optional secret_kms_key_arn and api_url); null for none."
  type        = any
  default     = null
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression of the scheduled pack; each run covers the six months ending the day before. Default: 06:00 on 1 January and 1 July."
  type        = string
  default     = "cron(0 6 1 1,7 ? *)"
}

variable "schedule_timezone" {
  description = "Time zone of the cron schedule expression (IANA name)."
  type        = string
  default     = "UTC"
}

variable "memory_size" {
  description = "Memory of the review_pack function in MB (128-10240; modules/lambda-function checks it). A single run holds one period of the whole estate's evidence in memory; with fan_out, each invocation holds one account/region's (or, the merge, the partials)."
  type        = number
  default     = 1024
}

variable "timeout" {
  description = "Timeout of the review_pack function in seconds (at most 900, Lambda's limit; modules/lambda-function checks it): of the single run, or with fan_out of each part and of the merge."
  type        = number
  default     = 900
}

variable "fan_out" {
  description = "Build the pack in parts, one queued invocation per account/region, then a merge of their partial results (an SQS work queue with a dead-letter queue and alarms): for estates one invocation cannot read within timeout and memory_size. False: one invocation reads the whole period."
  type        = bool
  default     = false
}

variable "fan_out_max_concurrency" {
  description = "With fan_out: how many parts run at once (the work queue's event source mapping maximum concurrency, 2-1000)."
  type        = number
  default     = 20

  validation {
    condition     = var.fan_out_max_concurrency >= 2 && var.fan_out_max_concurrency <= 1000
    error_message = "fan_out_max_concurrency must be between 2 and 1000 (the event source mapping's maximum concurrency)."
  }
}

variable "authorized_public_ports" {
  description = "Ports that may be open to the whole internet: world ingress to these ports only is rated LOW (the root's authorized_public_ports; modules/lambda-function validates them)."
  type        = list(number)
  default     = [80, 443]
}
