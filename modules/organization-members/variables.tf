variable "name_prefix" {
  description = "Prefix of the stack sets and of the forwarder's resources in every member account (rule <prefix>-sg-changes-forward, role <prefix>-sg-forward-<region>), as modules/event-forwarder names them."
  type        = string
  default     = "sgwatch"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,23}$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "organizational_unit_ids" {
  description = "Organisational units (ou-...) or the root (r-...) whose accounts, and those of their child OUs, get the member role and the forwarders; accounts joining them later get both automatically. The ids must be known at plan (they name the stack instances): for OUs created in the same apply, use organizational_units instead."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.organizational_unit_ids : can(regex("^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$", id))])
    error_message = "organizational_unit_ids must name OUs (ou-abcd-12345678) or the root (r-abcd)."
  }
}

variable "organizational_units" {
  description = "The same as organizational_unit_ids, as a map from a name of your choice (known at plan) to the OU or root id, for OUs created in the same apply. Set one of the two."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key, id in var.organizational_units : can(regex("^[A-Za-z0-9_.-]{1,64}$", key))])
    error_message = "organizational_units keys must be 1-64 letters, digits, '_', '.' or '-'."
  }
}

variable "regions" {
  description = "Regions of every member account whose security-group changes are forwarded to the central bus (one forwarder stack per account and region)."
  type        = list(string)

  validation {
    condition     = length(var.regions) > 0 && alltrue([for r in var.regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", r))])
    error_message = "regions must name at least one region (e.g. eu-west-1)."
  }
}

variable "role_region" {
  description = "The one region where the member-role stack is deployed in every account (IAM is global: a second region would collide on the role name). null: the region of this module's provider."
  type        = string
  default     = null
}

variable "call_as" {
  description = "SELF when applied in the management account; DELEGATED_ADMIN when applied in a delegated StackSet administrator account."
  type        = string
  default     = "SELF"

  validation {
    condition     = contains(["SELF", "DELEGATED_ADMIN"], var.call_as)
    error_message = "call_as must be SELF or DELEGATED_ADMIN."
  }
}

variable "retain_stacks_on_account_removal" {
  description = "Keep the role and forwarders in an account that leaves the targeted OUs (false: they are deleted with it)."
  type        = bool
  default     = false
}

variable "operation_preferences" {
  description = "How fast the stack sets roll out: the share of accounts deployed at once and the share that may fail before an operation stops, per region (regions in parallel)."
  type = object({
    max_concurrent_percentage    = optional(number, 25)
    failure_tolerance_percentage = optional(number, 10)
  })
  default = {}

  validation {
    condition     = var.operation_preferences.max_concurrent_percentage >= 1 && var.operation_preferences.max_concurrent_percentage <= 100 && var.operation_preferences.failure_tolerance_percentage >= 0 && var.operation_preferences.failure_tolerance_percentage <= 100
    error_message = "max_concurrent_percentage must be 1-100 and failure_tolerance_percentage 0-100."
  }
}

# --- the member role (as modules/member-role; modules/member-role-definition validates these) -----

variable "member_role_name" {
  description = "Name of the read-only role in every member account; must equal the root module's member_role_name."
  type        = string
  default     = "sgwatch-member-read"
}

variable "trusted_role_arns" {
  description = "Execution roles of the central functions (values of the root output function_role_arns) allowed to assume the member role. Nothing else may."
  type        = list(string)
}

variable "organization_id" {
  description = "AWS Organizations id (o-...): the caller of the member role must belong to it (aws:PrincipalOrgID). Required: the forwarders of every account of the OUs reach the central bus only when the root module is given the same organization_id (its bus admits the organisation's accounts)."
  type        = string

  validation {
    condition     = var.organization_id != null && can(regex("^o-[a-z0-9]{10,32}$", coalesce(var.organization_id, "-")))
    error_message = "organization_id must be the organisation's id (o-abcdefghij): without it the central bus admits only the accounts listed in event_bus_source_accounts, and the forwarders of every other account in the OUs are refused. Give the root module the same organization_id."
  }
}

variable "include_unused_sg_audit" {
  description = "Grant the reads of the unused-group audit; off: the member role reads security groups and their exposure only."
  type        = bool
  default     = true
}

variable "max_session_duration" {
  description = "Maximum session duration of the member role in seconds (3600-43200)."
  type        = number
  default     = 3600
}

variable "remediation_trusted_role_arns" {
  description = "Opt-in remediation role in every account, beside the member role: the central execution roles of root output remediation_trusted_role_arns (the remediation function's and, in auto mode, the change notifier's) may assume it to revoke or restore security-group rules. Empty (default): none. Validated by modules/member-role-definition."
  type        = list(string)
  default     = []
}

variable "remediation_role_name" {
  description = "Name of the remediation role (the root module assumes sgwatch-member-remediation)."
  type        = string
  default     = "sgwatch-member-remediation"
}

variable "permissions_boundary_policy_name" {
  description = "Name of a customer managed policy that exists in every member account (landing zones deploy one), set as permissions boundary of the member role and the forwarding roles; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_policy_name == null || can(regex("^[A-Za-z0-9+=,.@_/-]{1,128}$", coalesce(var.permissions_boundary_policy_name, "-")))
    error_message = "permissions_boundary_policy_name must be an IAM policy name (with an optional path)."
  }
}

# --- the forwarders (as modules/event-forwarder) -------------------------------------------------

variable "central_event_bus_arn" {
  description = "ARN of the central SG Watch event bus (root output event_bus_arn); its policy must accept the member accounts (root organization_id)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]+$", var.central_event_bus_arn))
    error_message = "central_event_bus_arn must be an event bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)."
  }
}

variable "alarm_topic_name" {
  description = "Name of an SNS topic present in every member account and region (e.g. Control Tower's aws-controltower-SecurityNotifications) that the alarms on undelivered events notify; null creates the alarms without an action."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_name == null || can(regex("^[A-Za-z0-9_-]{1,256}$", coalesce(var.alarm_topic_name, "-")))
    error_message = "alarm_topic_name must be an SNS topic name (1-256 letters, digits, - and _)."
  }
}

variable "maximum_retry_attempts" {
  description = "EventBridge retries of a failed delivery to the central bus before the event goes to the dead-letter queue."
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

variable "dlq_message_retention_seconds" {
  description = "How long undelivered events stay in a forwarder's dead-letter queue (at most 14 days)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must be between 60 and 1209600."
  }
}

variable "tags" {
  description = "Tags of the stack sets, propagated by CloudFormation to every stack and resource they create."
  type        = map(string)
  default     = {}
}
