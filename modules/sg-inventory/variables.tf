variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function: modules/lambda-function's settings, which it validates."
  type        = any
}

variable "evidence" {
  description = "Evidence bucket receiving snapshots and diffs: bucket_name, bucket_arn and the key prefix (ends with /)."
  type        = any
}

variable "regions" {
  description = "Regions to snapshot; empty means the function's own region (modules/lambda-function's accounts.regions, which it validates)."
  type        = list(string)
  default     = []
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression of the snapshot run."
  type        = string
  default     = "rate(1 day)"
}

variable "schedule_timezone" {
  description = "Time zone of cron schedule expressions."
  type        = string
  default     = "UTC"
}

variable "accounts" {
  description = "Accounts covered besides the own one, and the fan-out: modules/lambda-function's accounts."
  type        = any
  default     = {}
}

variable "authorized_public_ports" {
  description = "Ports that may be open to the whole internet: world ingress to these ports only is rated LOW (the root's authorized_public_ports; modules/lambda-function validates them)."
  type        = list(number)
  default     = [80, 443]
}
