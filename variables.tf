# --- Naming and common settings -------------------------------------------------------------

variable "name_prefix" {
  description = "Prefix of every resource name; two instances of the module in one account need different prefixes."
  type        = string
  default     = "sgwatch"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,23}$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "Bring your own KMS key (ARN) for logs, queues, topic, bucket and secrets; null creates one with rotation. Its key policy must grant what kms.tf grants the created key: CloudWatch Logs for the /aws/lambda/NAME_PREFIX-* log groups, and EventBridge and CloudWatch kms:Decrypt/GenerateDataKey scoped by encryption context to the module topic and queues (no aws:SourceAccount condition: EventBridge delivery to an encrypted topic does not support it)."
  type        = string
  default     = null
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", coalesce(var.kms_key_arn, "-")))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary applied to every IAM role the module creates (landing zones often require one)."
  type        = string
  default     = null
}

variable "lambda_runtime" {
  description = "Python runtime of the functions."
  type        = string
  default     = "python3.13"
  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.lambda_runtime)
    error_message = "lambda_runtime must be python3.11, python3.12 or python3.13."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the functions (the code is pure Python)."
  type        = string
  default     = "arm64"
  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' CloudWatch log groups."
  type        = number
  default     = 400
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (e.g. 30, 90, 365, 400, 731)."
  }
}

variable "regions" {
  description = "Regions the inventory and the unused-group audit cover; empty means the deployment region."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for r in var.regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", r))])
    error_message = "regions must be region names such as eu-west-1."
  }
}

# --- Evidence bucket -------------------------------------------------------------------------

variable "existing_evidence_bucket_name" {
  description = "Use this existing bucket for evidence instead of creating one (it must use SSE-KMS with kms_key_arn)."
  type        = string
  default     = null
}

variable "evidence_prefix" {
  description = "Key prefix of all evidence in the bucket."
  type        = string
  default     = "security-groups/"
  validation {
    condition     = can(regex("^([A-Za-z0-9!_.*'()-]+/)*$", var.evidence_prefix))
    error_message = "evidence_prefix must be empty or end with '/', without a leading '/'."
  }
}

variable "evidence_retention_days" {
  description = "Days evidence is kept before lifecycle expiry (PCI DSS 10.5.1 asks for 12 months at least). Checked by modules/evidence-bucket, when the module creates the bucket."
  type        = number
  default     = 400
}

variable "evidence_object_lock_mode" {
  description = "S3 Object Lock mode for immutable evidence (GOVERNANCE or COMPLIANCE); null disables it. Only for a new bucket. Checked by modules/evidence-bucket, when the module creates the bucket."
  type        = string
  default     = null
}

variable "evidence_object_lock_days" {
  description = "Default Object Lock retention in days (a whole number, at least 1). Checked by modules/evidence-bucket, when the module creates the bucket."
  type        = number
  default     = 400
}

variable "evidence_access_log_bucket" {
  description = "Bucket receiving S3 server access logs of the evidence bucket; null disables them."
  type        = string
  default     = null
}

variable "evidence_force_destroy" {
  description = "Let terraform destroy a non-empty evidence bucket. Only for demos and tests, with evidence_destroy_protection = false; refused together with evidence_object_lock_mode."
  type        = bool
  default     = false
}

variable "evidence_delete_principal_arns" {
  description = "Break-glass principals (IAM role or user ARNs, wildcards allowed) that may delete evidence objects; the bucket policy denies deletion to everyone else, and denies every object write without If-None-Match (no overwrite). Lifecycle expiry is not affected. Checked by modules/evidence-bucket, when the module creates the bucket."
  type        = list(string)
  default     = []
}

variable "evidence_destroy_protection" {
  description = "Refuse any plan that destroys or replaces the evidence bucket or the module's KMS key (two guard resources with prevent_destroy): `terraform destroy` then changes nothing, so versioning, the bucket policy and the key that decrypts the evidence stay. Turning it on only adds the guards; turning it off needs the guards removed from the state first (README, \"Upgrades, moving evidence and deleting it\"). Set false only for a throwaway deployment."
  type        = bool
  default     = true
}

# --- Alert topic -----------------------------------------------------------------------------

variable "existing_alert_topic_arn" {
  description = "Publish alerts to this existing SNS topic instead of creating one."
  type        = string
  default     = null
  validation {
    condition     = var.existing_alert_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", coalesce(var.existing_alert_topic_arn, "-")))
    error_message = "existing_alert_topic_arn must be an SNS topic ARN."
  }
}

variable "alert_emails" {
  description = "E-mail addresses subscribed to the created alert topic."
  type        = list(string)
  default     = []
}

# --- Inventory -------------------------------------------------------------------------------

variable "enable_sg_inventory" {
  description = "Snapshot every security-group rule on a schedule and diff it against the previous snapshot."
  type        = bool
  default     = true
}

variable "inventory_schedule_expression" {
  description = "EventBridge Scheduler expression of the inventory (rate(...), cron(...) or at(...)). Checked by modules/lambda-function, when its capability is on."
  type        = string
  default     = "rate(1 day)"
}

variable "inventory_schedule_timezone" {
  description = "Time zone of a cron inventory schedule (IANA name)."
  type        = string
  default     = "UTC"
}

# --- Security Hub report -----------------------------------------------------------------------

variable "enable_securityhub_report" {
  description = "Post the open failed Security Hub control findings to Slack as a CSV on a schedule (needs a Slack app: slack with a channel_id and a token secret)."
  type        = bool
  default     = false
}

variable "securityhub_control_ids" {
  description = "Security Hub control ids in the report (e.g. [\"S3.1\", \"IAM.1\", \"EC2.2\", \"EC2.18\", \"EC2.19\"]); empty reports every control. Checked by modules/securityhub-report, when enable_securityhub_report is on."
  type        = list(string)
  default     = []
}

variable "securityhub_severities" {
  description = "Severity labels in the report (CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL); empty reports every severity. Checked by modules/securityhub-report, when enable_securityhub_report is on."
  type        = list(string)
  default     = []
}

variable "owner_tag_key" {
  description = "Resource tag naming a resource's owner, mentioned in the Security Hub report."
  type        = string
  default     = "Owner"
}

variable "owner_slack_ids" {
  description = "Owner tag value -> Slack user id (U...) to mention; owner tags holding an e-mail address are looked up in Slack instead (users:read.email scope). Checked by modules/securityhub-report, when enable_securityhub_report is on."
  type        = map(string)
  default     = {}
}

variable "report_when_empty" {
  description = "Post a short all-clear message to Slack when no Security Hub finding failed."
  type        = bool
  default     = true
}

variable "report_schedule_expression" {
  description = "EventBridge Scheduler expression of the Security Hub report (default: Mondays 09:00 in report_schedule_timezone). Checked by modules/lambda-function, when its capability is on."
  type        = string
  default     = "cron(0 9 ? * MON *)"
}

variable "report_schedule_timezone" {
  description = "Time zone (IANA name, e.g. Europe/Paris) of report_schedule_expression."
  type        = string
  default     = "UTC"
}

variable "report_timezone" {
  description = "Deprecated: use report_schedule_timezone. When set, it is used instead (null by default)."
  type        = string
  default     = null
}

# --- Unused-group audit ------------------------------------------------------------------------

variable "enable_unused_sg_audit" {
  description = "Deploy the weekly truly-unused security group audit."
  type        = bool
  default     = true
}

variable "unused_sg_schedule_expression" {
  description = "EventBridge Scheduler expression of the unused-group audit. Checked by modules/lambda-function, when its capability is on."
  type        = string
  default     = "rate(7 days)"
}

variable "unused_sg_schedule_timezone" {
  description = "Time zone of a cron unused-group audit schedule (IANA name)."
  type        = string
  default     = "UTC"
}

variable "unused_sg_exempt_tag_key" {
  description = "Tag key that exempts a security group from the unused report (any value). Checked by modules/unused-sg-audit, when enable_unused_sg_audit is on."
  type        = string
  default     = "sgwatch:keep"
}

variable "unused_sg_grace_days" {
  description = "Security groups younger than this many days (0-90) are not reported as unused (when their creation time is known). Checked by modules/unused-sg-audit, when enable_unused_sg_audit is on."
  type        = number
  default     = 7
}

variable "unused_sg_allow_partial" {
  description = "Declare groups unused even when a source could not be scanned (AccessDenied, service not in the region)."
  type        = bool
  default     = false
}

variable "unused_sg_securityhub_sync" {
  description = "Suppress Security Hub findings (unused_sg_securityhub_control_ids) on groups that are in use, with the reasons, and re-open the ones SG Watch suppressed once the reasons are gone."
  type        = bool
  default     = false
}

variable "unused_sg_securityhub_control_ids" {
  description = "Security Hub control ids synchronised by the unused-group audit. Checked by modules/unused-sg-audit, when enable_unused_sg_audit is on."
  type        = list(string)
  default     = ["EC2.22"]
}

# --- Reachability guard ------------------------------------------------------------------------

variable "enable_reachability_check" {
  description = "Re-check required network paths with VPC Reachability Analyzer after security-group changes (each analysis is billed)."
  type        = bool
  default     = false
}

variable "reachability_path_ids" {
  description = "Existing Reachability Analyzer paths (nip-...) that must keep working. Checked by modules/reachability-check, when enable_reachability_check is on."
  type        = list(string)
  default     = []
}

variable "reachability_paths" {
  description = "Paths to create and check: name, source, destination (resource ids or ARNs), protocol (tcp/udp), destination_port, optional source_ip/destination_ip. Checked by modules/reachability-check, when enable_reachability_check is on."
  type = list(object({
    name             = string
    source           = string
    destination      = string
    protocol         = optional(string, "tcp")
    destination_port = optional(number)
    source_ip        = optional(string)
    destination_ip   = optional(string)
  }))
  default = []
}

variable "reachability_batch_window_seconds" {
  description = "Debounce window: security-group changes within it cost one analysis per affected path. Checked by modules/reachability-check, when enable_reachability_check is on."
  type        = number
  default     = 120
}

variable "reachability_schedule_expression" {
  description = "Optional periodic re-check of every path (rate/cron expression) for drift not caused by SG API calls; null disables it. Checked by modules/lambda-function, when its capability is on."
  type        = string
  default     = null
}

variable "reachability_schedule_timezone" {
  description = "Time zone of a cron reachability_schedule_expression (IANA name)."
  type        = string
  default     = "UTC"
}

# --- Review pack -------------------------------------------------------------------------------

variable "enable_review_pack" {
  description = "Write the six-monthly PCI DSS 1.2.7 review pack (report, CSVs, manifest, sign-off record) to the evidence bucket. Null (default) follows enable_sg_inventory."
  type        = bool
  default     = null
}

variable "review_schedule_expression" {
  description = "EventBridge Scheduler expression of the review pack; each scheduled run covers the six months ending the day before. Default: 06:00 on 1 January and 1 July. Checked by modules/lambda-function, when its capability is on."
  type        = string
  default     = "cron(0 6 1 1,7 ? *)"
}

variable "review_schedule_timezone" {
  description = "Time zone of the review pack's cron schedule (IANA name)."
  type        = string
  default     = "UTC"
}

variable "review_memory_size" {
  description = "Memory of the review pack function in MB (128-10240): of the single run, or with review_fan_out of each part and of the merge. Checked by modules/lambda-function."
  type        = number
  default     = 1024
}

variable "review_timeout" {
  description = "Timeout of the review pack function in seconds (1-900). Checked by modules/lambda-function."
  type        = number
  default     = 900
}

variable "review_fan_out" {
  description = "Build the review pack in parts, one queued invocation per account/region, then merge their partial results (adds an SQS work queue, its dead-letter queue and alarms). Turn on for estates one invocation cannot read within review_timeout and review_memory_size (see the README's scale section)."
  type        = bool
  default     = false
}

variable "review_fan_out_max_concurrency" {
  description = "With review_fan_out: how many parts run at once (2-1000). Checked by modules/review-pack."
  type        = number
  default     = 20
}

# --- Many accounts and regions --------------------------------------------------------------

variable "accounts" {
  description = "Member accounts the inventory and the unused-group audit cover (besides this one when listed); each needs modules/member-role. Checked by modules/lambda-function, when a capability reading member accounts is on."
  type        = list(string)
  default     = []
}

variable "accounts_from_organizations" {
  description = "Cover every ACTIVE account of the AWS Organization (the module must run in the management or a delegated administrator account)."
  type        = bool
  default     = false
}

variable "excluded_accounts" {
  description = "Account ids left out of accounts / the organisation list. Checked by modules/lambda-function, when a capability reading member accounts is on."
  type        = list(string)
  default     = []
}

variable "member_role_name" {
  description = "Name of the read-only role (modules/member-role) assumed in member accounts."
  type        = string
  default     = "sgwatch-member-read"
}

variable "max_workers" {
  description = "How many (account, region) pairs one inventory or audit run processes at once. Checked by modules/lambda-function, when a capability reading member accounts is on."
  type        = number
  default     = 8
}

variable "fan_out" {
  description = "Spread each inventory and unused-group audit run over an SQS work queue: the scheduled run queues one message per (account, region) pair and queued runs of the same function process them, so an estate is not bound by one run's 15 minutes. Failed pairs are retried by the queue, then kept in its dead-letter queue with an alarm."
  type        = bool
  default     = false
}

variable "fan_out_max_concurrency" {
  description = "With fan_out, how many queued runs of each function execute at once (the event source mapping's maximum concurrency). Checked by modules/lambda-function, when a capability reading member accounts is on."
  type        = number
  default     = 5
}

variable "organization_id" {
  description = "AWS Organizations id (o-...): events are accepted on the central bus from its accounts only, and with accounts_from_organizations the member role is assumed only in its accounts (aws:ResourceOrgID)."
  type        = string
  default     = null
  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", coalesce(var.organization_id, "-")))
    error_message = "organization_id must look like o-abcdefghij."
  }
}

variable "create_event_bus" {
  description = "Create a central custom event bus receiving security-group events forwarded from member accounts and regions (modules/event-forwarder)."
  type        = bool
  default     = false
}

variable "event_bus_source_accounts" {
  description = "Accounts allowed to put events on the central bus when organization_id is not set."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for a in var.event_bus_source_accounts : can(regex("^[0-9]{12}$", a))])
    error_message = "event_bus_source_accounts must be 12-digit AWS account ids."
  }
}

# --- Change alerts -------------------------------------------------------------------

variable "enable_change_alerts" {
  description = "Alert in real time on every security-group change (EventBridge rule on the CloudTrail API calls)."
  type        = bool
  default     = true
}

variable "change_alerts_mode" {
  description = "\"lambda\" (default): the sg_change_notifier function adds before/after, severity, de-duplication and Slack. \"direct\": EventBridge sends the raw facts straight to the alert topic (no compute, no enrichment). Checked by modules/sg-change-alerts, when enable_change_alerts is on."
  type        = string
  default     = "lambda"
}

# --- Risk and change control ---------------------------------------------------------------------

variable "authorized_public_ports" {
  description = "Ports that may be open to the whole internet (TCP and UDP): world ingress to these ports only is rated LOW, not a finding. Same default as Security Hub control EC2.18. Used by change alerts, the inventory's exposure report and the review pack."
  type        = list(number)
  default     = [80, 443]
  # Checked where it is used, by modules/lambda-function (each input is checked once).
}

variable "approved_change_principals" {
  description = "IAM ARN patterns (`*` wildcards) of the principals whose security-group changes went through change control, matched against the role behind an assumed-role session or the IAM user, e.g. [\"arn:aws:iam::*:role/terraform-pipeline\"]. A change by anyone else is \"out-of-band\"; empty: \"not-configured\" (PCI DSS 1.2.2)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.approved_change_principals : can(regex("^arn:[a-z*-]+:(iam|sts)::[0-9*]*:[^,\\s]+$", arn))])
    error_message = "approved_change_principals must be IAM or STS ARNs (wildcards allowed), without commas or spaces."
  }
  validation {
    # The patterns travel in the notifier's environment, 4 KB in all:
    # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    condition     = length(join(",", var.approved_change_principals)) <= 2048
    error_message = "approved_change_principals must fit in 2048 characters joined by commas (Lambda environment limit); use wildcards."
  }
}

variable "iac_managed_tag_keys" {
  description = "Tag keys that mark a security group as managed by infrastructure as code. A console, CLI or SDK change to such a group is flagged as a manual change to an IaC-managed group."
  type        = list(string)
  default     = ["aws:cloudformation:stack-id"]

  validation {
    condition     = alltrue([for key in var.iac_managed_tag_keys : length(key) > 0 && length(key) <= 128 && !strcontains(key, ",")])
    error_message = "iac_managed_tag_keys must be tag keys of 1 to 128 characters without commas."
  }
}

# --- Slack ---------------------------------------------------------------------------------------

variable "slack" {
  description = "Slack, configured once for every capability that posts (change alerts, the inventory's expiry digest, reachability guard, review pack, Security Hub report): channel_id (C...) the Slack app is a member of, and either token_secret_arn, an existing Secrets Manager secret holding the bot token (bare xoxb-... or JSON {\"token\": \"xoxb-...\"}), or create_token_secret = true for an empty one encrypted with the module key whose value you set out of band (see README); secret_kms_key_arn, the customer-managed key of an existing secret when it is neither the AWS managed key nor the module key (the functions get kms:Decrypt on it); api_url, an https Slack Web API base URL (an egress proxy; null uses https://slack.com/api/). The module never takes the token itself. null leaves Slack off. Checked by modules/lambda-function, when a capability that posts is on."
  type = object({
    channel_id          = optional(string)
    token_secret_arn    = optional(string)
    create_token_secret = optional(bool, false)
    secret_kms_key_arn  = optional(string)
    api_url             = optional(string)
  })
  default = null
}

# Deprecated aliases of the slack fields: each still works; the slack field wins when both are set
# (and a plan stops when the two differ).

variable "slack_channel_id" {
  description = "Deprecated: use slack.channel_id."
  type        = string
  default     = null
}

variable "slack_token_secret_arn" {
  description = "Deprecated: use slack.token_secret_arn."
  type        = string
  default     = null
}

variable "create_slack_token_secret" {
  description = "Deprecated: use slack.create_token_secret."
  type        = bool
  default     = false
}

variable "slack_secret_kms_key_arn" {
  description = "Deprecated: use slack.secret_kms_key_arn."
  type        = string
  default     = null
}

variable "slack_api_url" {
  description = "Deprecated: use slack.api_url."
  type        = string
  default     = null
}

variable "rule_review" {
  description = <<-EOT
    The inventory's rule review (PCI DSS 1.2.5 and 1.2.7), written beside each snapshot: tag_keys (the keys of a
    justification, its owner, ticket and expiry date on a rule or its group), register (an optional CSV object in
    S3: bucket, key and kms_key_arn when a customer-managed key encrypts it), justification_warning_days (default
    14) and justify_private_peers (default false: every rule needs a reason). See the README's "Rule review".
    modules/sg-inventory validates it.
  EOT
  type = object({
    tag_keys = optional(object({
      justification = optional(string, "justification")
      owner         = optional(string, "owner")
      ticket        = optional(string, "ticket")
      expires       = optional(string, "expires")
    }), {})
    register = optional(object({
      bucket      = string
      key         = string
      kms_key_arn = optional(string)
    }))
    justification_warning_days = optional(number, 14)
    justify_private_peers      = optional(bool, false)
  })
  default  = {}
  nullable = false
}

# --- Remediation ---------------------------------------------------------------------------------

variable "remediation" {
  description = "Revert a qualifying change from its Slack alert, or at alert time in auto mode (needs the change alerts in lambda mode, and slack in approve mode); null (default) leaves it off. mode: approve (an approver clicks Revert on the Slack alert) or auto (the notifier reverts a qualifying change at alert time, in its own account and, through their remediation role, in member accounts; no Slack needed); min_severity (CRITICAL) and only_out_of_band (true) choose the qualifying alerts; approvers: Slack user ids (U.../W...) or user-group ids (S...), required in approve mode; exception_max_days (30): how far ahead the Keep as exception dialog lets an approver set the expiry. See the README's \"Remediation from Slack\". Checked by modules/sg-change-alerts."
  type = object({
    mode               = optional(string, "approve")
    min_severity       = optional(string, "CRITICAL")
    only_out_of_band   = optional(bool, true)
    approvers          = optional(list(string), [])
    exception_max_days = optional(number, 30)
  })
  default = null
}

variable "iac_state_locations" {
  description = <<-EOT
    Terraform states (S3 backend) whose security groups and rules the inventory holds against the live rules each
    run, writing drift/<stamp>.csv beside each snapshot (PCI DSS 1.2.8); empty (the default): no drift report. Each
    entry: bucket, key (one state, and its workspaces' env:/<workspace>/<key>) or prefix (every *.tfstate object
    under it and under env:/<workspace>/<prefix>), kms_key_arn when a customer-managed key encrypts the states, and
    role_arn to read them with a role of another account. Only the four security-group resource types are kept of
    a state. See the README's "Configuration consistency". modules/sg-inventory validates it.
  EOT
  type = list(object({
    bucket      = string
    key         = optional(string)
    prefix      = optional(string)
    kms_key_arn = optional(string)
    role_arn    = optional(string)
  }))
  default  = []
  nullable = false
}

variable "iac_cloudformation_drift" {
  description = "Also hold the live rules against the CloudFormation stacks of every watched account and region that declare security groups or rules, through CloudFormation's own drift detection on those resources, in the same drift/<stamp>.csv (DeclaredIn the stack ARN, DeclaredAddress the logical id). Each run starts one detection per such stack (API quota the stacks' owners share); a stack in progress or a detection that fails or does not complete fails the pair. See the README's \"Configuration consistency\"."
  type        = bool
  default     = false
  nullable    = false
}

# --- Evidence queries ------------------------------------------------------------------------

variable "enable_evidence_queries" {
  description = "Glue tables over the evidence bucket (partition projection; nothing copied), an Athena workgroup with results in the bucket under <name_prefix>-query-results/ (expired after 30 days when the module creates the bucket) and named queries; evidence_query_policy_arn lets a person or role run them."
  type        = bool
  default     = false
}

variable "evidence_query_bytes_scanned_cutoff" {
  description = "With enable_evidence_queries: bytes one query may scan before the workgroup cancels it (at least 10485760; checked by modules/evidence-queries). Athena charges per TB scanned."
  type        = number
  default     = 10737418240
}
