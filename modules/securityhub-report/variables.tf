variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function (see modules/lambda-function); kms_key_arn is the module key."
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

variable "alert_topic_arn" {
  description = "SNS topic receiving the report summary when Slack cannot be reached; null uses lambda_settings.alarm_topic_arn."
  type        = string
  default     = null
}

variable "control_ids" {
  description = "Security Hub control ids to report (e.g. S3.1, IAM.1, EC2.2, EC2.18, EC2.19); empty reports every control."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.control_ids : can(regex("^[A-Za-z0-9][A-Za-z0-9.-]*$", c))])
    error_message = "Each control id must look like a Security Hub control id, e.g. EC2.19."
  }
}

variable "severities" {
  description = "Severity labels to report (CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL); empty reports every severity."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.severities : contains(["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"], s)])
    error_message = "Severities must be among CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL."
  }
}

variable "slack_token_secret_arn" {
  description = "ARN of an existing Secrets Manager secret holding the Slack bot token (bare xoxb-... or JSON {\"token\": ...}). Leave null with create_slack_token_secret = true."
  type        = string
  default     = null

  validation {
    condition     = var.slack_token_secret_arn == null || can(regex("^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.slack_token_secret_arn))
    error_message = "slack_token_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "slack_token_secret_kms_key_arn" {
  description = "KMS key encrypting an existing token secret when it is not the module key (null: the module key or the AWS managed key)."
  type        = string
  default     = null
}

variable "create_slack_token_secret" {
  description = "Create an empty Secrets Manager secret (encrypted with the module key) for the Slack token; the operator sets its value out of band."
  type        = bool
  default     = false
}

variable "slack_token_secret_recovery_days" {
  description = "Recovery window of the created token secret after deletion (0 deletes at once)."
  type        = number
  default     = 7

  validation {
    condition     = var.slack_token_secret_recovery_days == 0 || (var.slack_token_secret_recovery_days >= 7 && var.slack_token_secret_recovery_days <= 30)
    error_message = "slack_token_secret_recovery_days must be 0 or between 7 and 30."
  }
}

variable "slack_channel_id" {
  description = "Slack channel id (C..., G...) receiving the report; the Slack app must be a member of it."
  type        = string

  validation {
    condition     = can(regex("^[CGD][A-Z0-9]{2,}$", var.slack_channel_id))
    error_message = "slack_channel_id must be a Slack channel id such as C0123456789 (not a channel name)."
  }
}

variable "owner_tag_key" {
  description = "Resource tag naming the owner of a resource."
  type        = string
  default     = "Owner"
}

variable "owner_slack_ids" {
  description = "Owner tag value -> Slack user id (U...) to mention. Owner tags holding an e-mail address are looked up in Slack instead (needs the users:read.email scope)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for id in values(var.owner_slack_ids) : can(regex("^[UW][A-Z0-9]{2,}$", id))])
    error_message = "owner_slack_ids values must be Slack user ids such as U0123456789."
  }
}

variable "report_when_empty" {
  description = "Post a short all-clear message when no finding failed."
  type        = bool
  default     = true
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression of the report (default: Mondays at 09:00)."
  type        = string
  default     = "cron(0 9 ? * MON *)"

  validation {
    condition     = can(regex("^(rate|cron|at)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be a rate(...), cron(...) or at(...) expression."
  }
}

variable "schedule_timezone" {
  description = "Time zone of the schedule expression (IANA name, e.g. Europe/Paris)."
  type        = string
  default     = "UTC"
}

variable "slack_api_url" {
  description = "Slack Web API base URL (for an egress proxy), https only; null uses https://slack.com/api/."
  type        = string
  default     = null

  validation {
    condition     = var.slack_api_url == null || can(regex("^https://[^/]+", var.slack_api_url))
    error_message = "slack_api_url must be an https:// URL: every call carries the bot token (an egress proxy must terminate TLS)."
  }
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
  default     = 300
}
