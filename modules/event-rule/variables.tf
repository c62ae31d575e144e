variable "name" {
  description = "Rule name; its alarm is <name>-failed-deliveries."
  type        = string
}

variable "description" {
  description = "Rule description."
  type        = string
}

variable "event_bus_name" {
  description = "Event bus of the rule."
  type        = string
  default     = "default"
}

variable "event_pattern" {
  description = "EventBridge event pattern (JSON)."
  type        = string
}

variable "targets" {
  description = "The rule's targets by target id: each one's ARN, the role EventBridge assumes to reach it (another bus), and an optional input transformer (input_paths, input_template)."
  type = map(object({
    arn      = string
    role_arn = optional(string)
    input_transformer = optional(object({
      input_paths    = map(string)
      input_template = string
    }))
  }))
}

variable "maximum_retry_attempts" {
  description = "EventBridge retries of a failed delivery before the event goes to the dead-letter queue."
  type        = number
  default     = 185

  validation {
    condition     = var.maximum_retry_attempts >= 0 && var.maximum_retry_attempts <= 185
    error_message = "maximum_retry_attempts must be between 0 and 185."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "Age after which EventBridge stops retrying an event and sends it to the dead-letter queue."
  type        = number
  default     = 86400

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 86400
    error_message = "maximum_event_age_in_seconds must be between 60 and 86400."
  }
}

variable "dead_letter_arn" {
  description = "SQS queue receiving the events whose delivery failed for good; its policy must let events.amazonaws.com send for this rule (modules/queue's event_rule_arns). null: no dead-letter queue, a failed event is only counted by the alarm."
  type        = string
  default     = null
}

variable "target_grants" {
  description = "Ids of what lets EventBridge deliver once the rule exists and names it (a Lambda permission, a topic or queue policy naming the rule ARN, the targets' role policy): the targets are created after them."
  type        = list(string)
  default     = []
}

variable "failed_deliveries_description" {
  description = "Description of the alarm raised when a delivery failed after every retry: what is missing and what to check."
  type        = string
}

variable "alarm_topic_arn" {
  description = "SNS topic the alarm notifies; null creates it without an action."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of the rule and the alarm."
  type        = map(string)
  default     = {}
}
