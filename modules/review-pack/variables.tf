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
  description = "Memory of the review_pack function in MB (the pack holds one period of evidence in memory)."
  type        = number
  default     = 1024
}

variable "authorized_public_ports" {
  description = "Ports that may be open to the whole internet: world ingress to these ports only is rated LOW (the root's authorized_public_ports; modules/lambda-function validates them)."
  type        = list(number)
  default     = [80, 443]
}
