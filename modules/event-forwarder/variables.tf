variable "name_prefix" {
  description = "Prefix of every resource name; the IAM role name also carries the region, so one prefix serves every region of an account."
  type        = string
  default     = "sgwatch"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,23}$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "central_event_bus_arn" {
  description = "ARN of the central SG Watch event bus (root output event_bus_arn), in the security-tooling account and home region."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]+$", var.central_event_bus_arn))
    error_message = "central_event_bus_arn must be an event bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)."
  }
}

variable "event_pattern" {
  description = "EventBridge pattern (JSON) of the events to forward; null forwards the security-group API calls CloudTrail records (the root module's pattern)."
  type        = string
  default     = null

  validation {
    condition     = var.event_pattern == null || can(jsondecode(coalesce(var.event_pattern, "-")))
    error_message = "event_pattern must be a JSON document."
  }
}

variable "event_bus_name" {
  description = "Bus of this account and region the rule listens on (CloudTrail API calls arrive on the default bus)."
  type        = string
  default     = "default"
}

variable "dlq_kms_key_arn" {
  description = "Customer managed KMS key (ARN) encrypting the dead-letter queue; its key policy must let events.amazonaws.com use it (kms:GenerateDataKey, kms:Decrypt). null encrypts with SQS-managed keys (SSE-SQS): EventBridge cannot deliver to a queue encrypted with the AWS managed key alias/aws/sqs."
  type        = string
  default     = null

  validation {
    condition     = var.dlq_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", coalesce(var.dlq_kms_key_arn, "-")))
    error_message = "dlq_kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID); alias/aws/sqs cannot be used by EventBridge."
  }
}

variable "dlq_message_retention_seconds" {
  description = "How long undeliverable events stay in the dead-letter queue (max 14 days)."
  type        = number
  default     = 1209600
}

variable "maximum_retry_attempts" {
  description = "EventBridge retries of a failed delivery to the central bus before the event goes to the dead-letter queue."
  type        = number
  default     = 185
}

variable "maximum_event_age_in_seconds" {
  description = "Age after which EventBridge stops retrying an event and sends it to the dead-letter queue."
  type        = number
  default     = 86400
}

variable "alarm_topic_arn" {
  description = "SNS topic (ARN) in this account and region that the alarms on undelivered events notify, e.g. the landing zone's security notification topic; the root module passes its alert topic to the home region's own forwarder. null creates the alarms without an action. The topic's policy must let cloudwatch.amazonaws.com publish (and its KMS key, if any, let CloudWatch use it)."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", coalesce(var.alarm_topic_arn, "-")))
    error_message = "alarm_topic_arn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the forwarding role; null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}
