variable "name_prefix" {
  description = "Prefix of every resource name; keeps two instances of the module apart in one account."
  type        = string
}

variable "function_key" {
  description = "Name of the function package in functions/ (e.g. sg_inventory); the zip is functions/dist/<function_key>.zip."
  type        = string
}

variable "deployed_key" {
  description = "The function's name after the prefix, underscores written as dashes, and its sgwatch:function tag, when they differ from function_key: a package renamed after its capability keeps the function it deployed (sg_change_alerts deploys sg-change-notifier)."
  type        = string
  default     = null
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

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.settings.runtime)
    error_message = "settings.runtime must be python3.11, python3.12 or python3.13."
  }
  validation {
    condition     = contains(["arm64", "x86_64"], var.settings.architecture)
    error_message = "settings.architecture must be arm64 or x86_64."
  }
  validation {
    # The retention periods CloudWatch Logs accepts:
    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.settings.log_retention_days)
    error_message = "settings.log_retention_days must be a value CloudWatch Logs accepts (e.g. 30, 90, 365, 400, 731)."
  }
}

variable "policy_json" {
  description = "IAM policy document (JSON) with exactly what the function's code calls; logs, DLQ and KMS for them are added here."
  type        = string
}

variable "environment" {
  description = "Environment variables of the function besides those evidence, slack, accounts and authorized_public_ports add. Never a secret: pass ARNs of secrets instead."
  type        = map(string)
  default     = {}
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds (Lambda's limit)."
  }
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB (Lambda's limits)."
  }
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

  validation {
    condition     = var.evidence == null || can(regex("^([A-Za-z0-9!_.*'()-]+/)*$", var.evidence.prefix))
    error_message = "evidence.prefix must be empty or end with '/', without a leading '/'."
  }
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

variable "fan_out" {
  description = "Optional work queue of a function whose units of work are not member account/regions (the review pack's parts): the same queue, dead-letter queue, alarms and event source mapping as accounts.fan_out, at most max_concurrency invocations at once. Adds WORK_QUEUE_URL and WORK_MAX_RECEIVES to the environment."
  type = object({
    max_concurrency = number
  })
  default = null
}

variable "accounts" {
  description = "Optional member accounts read besides the own one: ids, the whole organisation (its id, when known, limits the member roles assumed to its accounts), exclusions, the regions read in each (empty: the function's own), the member role to assume, how many (account, region) pairs run at once, and whether a run is spread over an SQS work queue (one queued run per pair, at most fan_out_max_concurrency at once; a pair that keeps failing waits in the work dead-letter queue, with an alarm). Adds the role's sts:AssumeRole grants and ACCOUNTS, ACCOUNTS_FROM_ORGANIZATIONS, EXCLUDED_ACCOUNTS, MEMBER_ROLE_NAME, MAX_WORKERS (and WORK_QUEUE_URL, and REGIONS with regions) to the environment."
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
    # Regions covered in every account; empty: the function's own region. null adds no REGIONS.
    regions = optional(list(string))
  })
  default = null

  validation {
    condition     = alltrue([for id in concat(try(var.accounts.ids, []), try(var.accounts.excluded, [])) : can(regex("^[0-9]{12}$", id))])
    error_message = "accounts.ids and accounts.excluded must be 12-digit AWS account ids."
  }
  validation {
    # The lists travel in the function's environment, 4 KB in all:
    # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    condition     = length(try(var.accounts.ids, [])) <= 200 && length(try(var.accounts.excluded, [])) <= 50
    error_message = "accounts.ids holds at most 200 ids and accounts.excluded 50, what a function's environment (4 KB) holds: use from_organizations = true, with excluded for the accounts to leave out."
  }
  validation {
    condition     = var.accounts == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.accounts.member_role_name))
    error_message = "accounts.member_role_name must be an IAM role name: 1-64 characters of letters, digits and +=,.@_-."
  }
  validation {
    condition     = try(var.accounts.max_workers >= 1 && var.accounts.max_workers <= 64, true)
    error_message = "accounts.max_workers must be between 1 and 64."
  }
  validation {
    condition     = try(var.accounts.organization_id, null) == null || can(regex("^o-[a-z0-9]{10,32}$", var.accounts.organization_id))
    error_message = "accounts.organization_id must look like o-abcdefghij."
  }
  validation {
    condition     = try(var.accounts.fan_out_max_concurrency >= 2 && var.accounts.fan_out_max_concurrency <= 1000, true)
    error_message = "accounts.fan_out_max_concurrency must be between 2 and 1000 (the event source mapping's limits)."
  }
  validation {
    condition     = alltrue([for r in coalesce(try(var.accounts.regions, null), []) : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", r))])
    error_message = "accounts.regions must be region names such as eu-west-1."
  }
}

variable "event_queue" {
  description = "Optional SQS queue whose messages invoke the function through an event source mapping that reports batch item failures: its ARN, the batch size, the batching window in seconds and the most invocations at once (2-1000). Adds the role's receive grants on it."
  type = object({
    arn                     = string
    batch_size              = optional(number, 10)
    batching_window_seconds = optional(number, 0)
    maximum_concurrency     = optional(number, 2)
  })
  default = null
}

variable "authorized_public_ports" {
  description = "Ports that may be open to the whole internet (TCP and UDP): world ingress to these ports only is rated LOW. Adds AUTHORIZED_PUBLIC_PORTS to the environment; null adds nothing."
  type        = list(number)
  default     = null

  validation {
    condition     = alltrue([for port in coalesce(var.authorized_public_ports, []) : port >= 0 && port <= 65535 && floor(port) == port])
    error_message = "authorized_public_ports must hold whole port numbers from 0 to 65535."
  }
}
