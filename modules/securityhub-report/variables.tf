variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function: modules/lambda-function's settings, which it validates; kms_key_arn is the module key."
  type        = any
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

variable "slack" {
  description = "Slack receiving the report, as every capability gets it (modules/lambda-function's slack, which it validates): token_secret_arn, an existing Secrets Manager secret holding the bot token (bare xoxb-... or JSON {\"token\": ...}), channel_id (C..., G...; the Slack app must be a member of it), optional secret_kms_key_arn when the secret's key is neither the AWS managed key nor the module key, and api_url, an https Slack Web API base URL (an egress proxy). The root module passes the secret of its own slack input. Deprecated, removed in 3.0.0: create_token_secret = true instead of token_secret_arn, which creates an empty secret in this module (encrypted with the module key, its value set out of band); create the secret beside the module and pass its ARN instead."
  type        = any
}

variable "slack_token_secret_recovery_days" {
  description = "Deprecated, removed in 3.0.0 with slack.create_token_secret: recovery window of the token secret that option creates, after deletion (0 deletes at once)."
  type        = number
  default     = 7

  validation {
    condition     = var.slack_token_secret_recovery_days == 0 || (var.slack_token_secret_recovery_days >= 7 && var.slack_token_secret_recovery_days <= 30)
    error_message = "slack_token_secret_recovery_days must be 0 or between 7 and 30."
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
}

variable "schedule_timezone" {
  description = "Time zone of the schedule expression (IANA name, e.g. Europe/Paris)."
  type        = string
  default     = "UTC"
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
  default     = 300
}
