variable "name" {
  description = "Alarm name prefix: each alarm is named <name>-<key of alarms>."
  type        = string
}

variable "alarms" {
  description = "Alarms by name suffix: the metric (namespace, name, dimensions), the statistic compared with the threshold, and a description that says what to do."
  type = map(object({
    namespace   = string
    metric      = string
    dimensions  = map(string)
    description = string
    statistic   = optional(string, "Sum")
    threshold   = optional(number, 1)
  }))
}

variable "topic_arn" {
  description = "SNS topic notified when an alarm fires; null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of every alarm."
  type        = map(string)
  default     = {}
}
