variable "name_prefix" {
  description = "Prefix of every resource name; keeps two instances of the module apart in one account."
  type        = string
}

variable "function_key" {
  description = "Name of the function package in functions/ (e.g. sg_inventory); the zip is functions/dist/<function_key>.zip."
  type        = string
}

variable "description" {
  description = "Function description."
  type        = string
}

variable "settings" {
  description = "Settings shared by every function of the module instance."
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

variable "policy_json" {
  description = "IAM policy document (JSON) with exactly what the function's code calls; logs, DLQ and KMS for them are added here."
  type        = string
}

variable "environment" {
  description = "Environment variables of the function. Never a secret: pass ARNs of secrets instead."
  type        = map(string)
  default     = {}
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
  default     = 300
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
  default     = 256
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency; -1 for none."
  type        = number
  default     = -1
}

variable "schedule" {
  description = "Optional EventBridge Scheduler schedule invoking the function: expression (rate/cron/at), timezone, and a JSON input."
  type = object({
    expression = string
    timezone   = optional(string, "UTC")
    input      = optional(string, "{}")
  })
  default = null
}
