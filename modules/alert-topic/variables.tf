variable "name" {
  description = "Topic name."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the topic."
  type        = string
}

variable "alert_emails" {
  description = "E-mail addresses subscribed to the topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "publisher_service_principals" {
  description = "Service principals of this account allowed to publish (EventBridge, CloudWatch alarms)."
  type        = list(string)
  default     = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
