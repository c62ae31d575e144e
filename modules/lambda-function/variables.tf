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

variable "async_retries" {
  description = "How many times Lambda retries a failed asynchronous invocation (a schedule, an EventBridge rule) before the event goes to the dead-letter queue, which has an alarm. 0 for scheduled runs: the error alarm and the next schedule are the retry, so a failure neither re-runs healthy work nor repeats a mail. Up to 2 for invocations whose handling is idempotent."
  type        = number
  default     = 0

  validation {
    condition     = var.async_retries >= 0 && var.async_retries <= 2
    error_message = "async_retries must be 0, 1 or 2 (Lambda's limits for asynchronous invocation)."
  }
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

variable "work_queue" {
  description = "Optional fan-out: a queue on which the function's scheduled run puts one message per unit of work, and whose event source mapping runs the function on batches of them. A unit that keeps failing moves to the queue's own dead-letter queue (with an alarm) after max_receive_count receives."
  type = object({
    batch_size        = optional(number, 10)
    max_concurrency   = optional(number, 5)
    max_receive_count = optional(number, 5)
  })
  default = null

  validation {
    condition     = var.work_queue == null || try(var.work_queue.batch_size >= 1 && var.work_queue.batch_size <= 10, false)
    error_message = "work_queue.batch_size must be between 1 and 10."
  }
  validation {
    condition     = var.work_queue == null || try(var.work_queue.max_concurrency >= 2 && var.work_queue.max_concurrency <= 1000, false)
    error_message = "work_queue.max_concurrency must be between 2 and 1000 (the event source mapping's limits)."
  }
  validation {
    condition     = var.work_queue == null || try(var.work_queue.max_receive_count >= 1 && var.work_queue.max_receive_count <= 1000, false)
    error_message = "work_queue.max_receive_count must be between 1 and 1000."
  }
}
