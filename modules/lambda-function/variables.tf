variable "name_prefix" {
  description = "Prefix of every resource name; keeps two instances of the module apart in one account."
  type        = string
}

variable "function_key" {
  description = "Name of the function package in functions/ (e.g. sg_inventory); the zip is functions/dist/<function_key>.zip."
  type        = string
}

variable "capability" {
  description = "Capability the function serves, named like its module directory (e.g. sg-inventory): the sgwatch:capability tag of every resource of that capability."
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
  description = "Environment variables of the function besides those evidence, slack and accounts add. Never a secret: pass ARNs of secrets instead."
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
  description = "Optional EventBridge Scheduler schedule invoking the function: expression (rate/cron/at), timezone (IANA name), and a JSON input."
  type = object({
    expression = string
    timezone   = optional(string, "UTC")
    input      = optional(string, "{}")
  })
  default = null

  validation {
    condition     = var.schedule == null || can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\([^)]+\\)|at\\([^)]+\\))$", var.schedule.expression))
    error_message = "schedule.expression must be rate(N minutes|hours|days), cron(...) or at(...)."
  }
}

variable "evidence" {
  description = "Optional access to the evidence bucket: its name and ARN, the key prefix (empty or ending with /), and the key patterns below the prefix the function lists and reads (read) and writes (write); \"*/\" stands for the ACCOUNT/REGION/ level, e.g. write = [\"*/snapshots/*\"]. Adds EVIDENCE_BUCKET and EVIDENCE_PREFIX to the environment."
  type = object({
    bucket_name = string
    bucket_arn  = string
    prefix      = string
    read        = optional(list(string), ["*"])
    write       = optional(list(string), [])
  })
  default = null
}

variable "slack" {
  description = "Optional Slack posting: the Secrets Manager secret holding the bot token (bare xoxb-... or JSON {\"token\": ...}; never the token itself), the channel id, the customer-managed KMS key of the secret when it is neither the AWS managed key nor the module key (the function may decrypt the secret with it), and an https Slack Web API base URL (an egress proxy). Adds SLACK_TOKEN_SECRET_ARN, SLACK_CHANNEL_ID and SLACK_API_URL to the environment."
  type = object({
    token_secret_arn   = string
    channel_id         = string
    secret_kms_key_arn = optional(string)
    api_url            = optional(string)
  })
  default = null

  validation {
    condition     = var.slack == null || can(regex("^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.slack.token_secret_arn))
    error_message = "slack.token_secret_arn must be a Secrets Manager secret ARN."
  }
  validation {
    condition     = var.slack == null || can(regex("^[CGD][A-Z0-9]{2,}$", var.slack.channel_id))
    error_message = "slack.channel_id must be a Slack channel id such as C0123456789 (not a channel name)."
  }
  validation {
    condition     = try(var.slack.secret_kms_key_arn, null) == null || can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.slack.secret_kms_key_arn))
    error_message = "slack.secret_kms_key_arn must be a KMS key ARN."
  }
  validation {
    condition     = try(var.slack.api_url, null) == null || can(regex("^https://[^/]+", var.slack.api_url))
    error_message = "slack.api_url must be an https:// URL: every call carries the bot token (an egress proxy must terminate TLS)."
  }
}

variable "accounts" {
  description = "Optional member accounts read besides the own one: ids, the whole organisation (its id, when known, limits the member roles assumed to its accounts), exclusions, the member role to assume, how many (account, region) pairs run at once, and whether a run is spread over an SQS work queue (one queued run per pair, at most fan_out_max_concurrency at once; a pair that keeps failing waits in the work dead-letter queue, with an alarm). Adds the role's sts:AssumeRole grants and ACCOUNTS, ACCOUNTS_FROM_ORGANIZATIONS, EXCLUDED_ACCOUNTS, MEMBER_ROLE_NAME, MAX_WORKERS (and WORK_QUEUE_URL) to the environment."
  type = object({
    ids                = optional(list(string), [])
    from_organizations = optional(bool, false)
    excluded           = optional(list(string), [])
    member_role_name   = optional(string, "sgwatch-member-read")
    max_workers        = optional(number, 8)
    # With from_organizations: roles are assumed only in this organisation's accounts (aws:ResourceOrgID).
    organization_id         = optional(string)
    fan_out                 = optional(bool, false)
    fan_out_max_concurrency = optional(number, 5)
    # With from_organizations: whether the function lists the organisation's accounts (organizations:ListAccounts).
    # A function that only assumes the member role of the account an event names does not.
    lists_organization = optional(bool, true)
  })
  default = null

  validation {
    condition     = try(var.accounts.fan_out_max_concurrency >= 2 && var.accounts.fan_out_max_concurrency <= 1000, true)
    error_message = "accounts.fan_out_max_concurrency must be between 2 and 1000 (the event source mapping's limits)."
  }
}
