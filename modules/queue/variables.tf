variable "name" {
  description = "Base name: the dead-letter queue is <name>-dlq and its alarm <name>-dead-letters; with source, the queue feeding it is <name> and its backlog alarm <name>-backlog."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed KMS key encrypting the queues; null encrypts with SQS-managed keys (SSE-SQS), which EventBridge can deliver to (it cannot use the AWS managed key alias/aws/sqs)."
  type        = string
  default     = null
}

variable "dead_letter_retention_seconds" {
  description = "How long messages stay in the dead-letter queue (at most 14 days)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dead_letter_retention_seconds >= 60 && var.dead_letter_retention_seconds <= 1209600
    error_message = "dead_letter_retention_seconds must be between 60 and 1209600."
  }
}

variable "source_queue" {
  description = "Optional queue whose messages move to the dead-letter queue after max_receive_count receives: its visibility timeout, retention, and the age of its oldest message that raises a backlog alarm (null for none)."
  type = object({
    visibility_timeout_seconds = number
    message_retention_seconds  = optional(number, 1209600)
    max_receive_count          = number
    backlog_alarm_seconds      = optional(number)
    backlog_description        = optional(string)
  })
  default = null
}

variable "event_rule_arns" {
  description = "EventBridge rules allowed to send to the queues (their target or its dead-letter queue); empty adds no queue policy."
  type        = list(string)
  default     = []
}

variable "dead_letters_description" {
  description = "Description of the alarm raised when a message waits in the dead-letter queue: what it means and what to do."
  type        = string
}

variable "alarm_topic_arn" {
  description = "SNS topic the alarms notify; null creates them without an action."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of the queues and alarms."
  type        = map(string)
  default     = {}
}
