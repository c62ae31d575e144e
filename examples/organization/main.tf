# A landing zone in miniature: SG Watch in a central security-tooling account, and the thin
# footprint of one member account (a read-only role and an event forwarder). The central
# inventory and unused-group audit read both accounts; security-group changes made in the
# member reach the central change alerts through the central event bus.

# The central security-tooling account (your credentials).
provider "aws" {
  region = var.region
}

# The same account, a second region: changes there are forwarded to the home-region bus too.
provider "aws" {
  alias  = "central_secondary"
  region = var.secondary_region
}

# The member account, reached through the role Organizations creates in new accounts.
provider "aws" {
  alias  = "member"
  region = var.region
  assume_role {
    role_arn = "arn:${data.aws_partition.central.partition}:iam::${var.member_account_id}:role/${var.member_admin_role_name}"
  }
}

data "aws_caller_identity" "central" {}
data "aws_partition" "central" {}

locals {
  central_account_id = data.aws_caller_identity.central.account_id
  # The capabilities that read member accounts through the member role.
  reading_capabilities = ["sg_inventory", "unused_sg_audit"]
}

# --- central account -----------------------------------------------------------------------------

module "sgwatch" {
  source = "../../"

  name_prefix                 = var.name_prefix
  regions                     = [var.region, var.secondary_region]
  evidence_force_destroy      = var.evidence_force_destroy
  evidence_destroy_protection = !var.evidence_force_destroy

  # Read every listed account: the member through member_role_name, the central account with
  # the functions' own roles.
  accounts         = [var.member_account_id, local.central_account_id]
  member_role_name = var.member_role_name
  organization_id  = var.organization_id

  # One queued run per (account, region) pair: the estate is not bound by one run's 15 minutes.
  fan_out                 = var.fan_out
  fan_out_max_concurrency = 5

  # A central bus receiving the forwarded changes; the change alerts listen on it.
  create_event_bus          = true
  event_bus_source_accounts = [var.member_account_id]
}

# The root module forwards the home region's own changes; other regions need a forwarder each.
# Its dead-letter queue uses SSE-SQS: the module key lives in the home region. Its alarms on
# undelivered events notify a topic of that region (alarm actions cannot cross regions).
module "central_secondary_forwarder" {
  source    = "../../modules/event-forwarder"
  providers = { aws = aws.central_secondary }

  name_prefix           = var.name_prefix
  central_event_bus_arn = module.sgwatch.event_bus_arn
  alarm_topic_arn       = var.secondary_alarm_topic_arn
  tags                  = var.tags
}

# --- member account (repeat per member account; the forwarder per member account and region) ------

module "member_read_role" {
  source    = "../../modules/member-role"
  providers = { aws = aws.member }

  name              = var.member_role_name
  trusted_role_arns = [for capability, arn in module.sgwatch.function_role_arns : arn if contains(local.reading_capabilities, capability)]
  organization_id   = var.organization_id
  tags              = var.tags
}

module "member_forwarder" {
  source    = "../../modules/event-forwarder"
  providers = { aws = aws.member }

  name_prefix           = var.name_prefix
  central_event_bus_arn = module.sgwatch.event_bus_arn
  alarm_topic_arn       = var.member_alarm_topic_arn
  tags                  = var.tags
}

# --- inputs and outputs --------------------------------------------------------------------------

variable "region" {
  description = "Home region: the central functions, bus and evidence bucket live here."
  type        = string
  default     = "us-east-1"
}

variable "secondary_region" {
  description = "A second region covered by the inventory, whose changes are forwarded to the home region."
  type        = string
  default     = "us-west-2"
}

variable "member_alarm_topic_arn" {
  description = "SNS topic of the member account (home region) notified when its changes cannot reach the central bus, e.g. the landing zone's security notification topic; null creates the alarms without an action."
  type        = string
  default     = null
}

variable "secondary_alarm_topic_arn" {
  description = "SNS topic of the central account in the second region notified when its changes cannot reach the central bus; null creates the alarms without an action."
  type        = string
  default     = null
}

variable "member_account_id" {
  description = "The member account to watch."
  type        = string
  default     = "222222222222"

  validation {
    condition     = can(regex("^[0-9]{12}$", var.member_account_id))
    error_message = "member_account_id must be a 12-digit account id."
  }
}

variable "member_admin_role_name" {
  description = "Role Terraform assumes in the member account to deploy its footprint (Organizations creates OrganizationAccountAccessRole in new accounts; Control Tower uses AWSControlTowerExecution)."
  type        = string
  default     = "OrganizationAccountAccessRole"
}

variable "member_role_name" {
  description = "Name of the read-only role the central functions assume in every account."
  type        = string
  default     = "sgwatch-member-read"
}

variable "fan_out" {
  description = "Spread the inventory and the audit over an SQS work queue, one queued run per (account, region) pair."
  type        = bool
  default     = true
}

variable "organization_id" {
  description = "AWS Organizations id (o-...): the member roles then also require the caller to be in it; null for none."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "sgwatch-org"
}

variable "tags" {
  description = "Tags of the member-account resources."
  type        = map(string)
  default     = { Owner = "security" }
}

variable "evidence_force_destroy" {
  description = "A throwaway deployment (demos and tests only): allow destroying a non-empty evidence bucket, and turn off the destroy protection of the bucket and its key."
  type        = bool
  default     = false
}

output "evidence_bucket_name" {
  description = "Central evidence bucket."
  value       = module.sgwatch.evidence_bucket_name
}

output "alert_topic_arn" {
  description = "Central alert topic."
  value       = module.sgwatch.alert_topic_arn
}

output "lambda_function_names" {
  description = "Deployed central functions."
  value       = module.sgwatch.lambda_function_names
}

output "function_role_arns" {
  description = "Execution role of each central function."
  value       = module.sgwatch.function_role_arns
}

output "event_bus_arn" {
  description = "Central event bus receiving the forwarded changes."
  value       = module.sgwatch.event_bus_arn
}

output "fan_out_queues" {
  description = "Work queues and their dead-letter queues of the fan-out."
  value       = module.sgwatch.fan_out_queues
}

output "central_account_id" {
  description = "The security-tooling account."
  value       = local.central_account_id
}

output "member_account_id" {
  description = "The member account."
  value       = var.member_account_id
}

output "member_role_arn" {
  description = "Read-only role in the member account."
  value       = module.member_read_role.role_arn
}

output "member_forwarder" {
  description = "Forwarding rule, role, dead-letter queue and alarms in the member account."
  value = {
    rule_name             = module.member_forwarder.rule_name
    rule_arn              = module.member_forwarder.rule_arn
    role_arn              = module.member_forwarder.role_arn
    dead_letter_queue_arn = module.member_forwarder.dead_letter_queue_arn
    dead_letter_queue_url = module.member_forwarder.dead_letter_queue_url
    alarm_names           = module.member_forwarder.alarm_names
  }
}

output "central_secondary_forwarder" {
  description = "Forwarding rule, role, dead-letter queue and alarms in the central account's second region."
  value = {
    rule_name             = module.central_secondary_forwarder.rule_name
    rule_arn              = module.central_secondary_forwarder.rule_arn
    role_arn              = module.central_secondary_forwarder.role_arn
    dead_letter_queue_arn = module.central_secondary_forwarder.dead_letter_queue_arn
    dead_letter_queue_url = module.central_secondary_forwarder.dead_letter_queue_url
    alarm_names           = module.central_secondary_forwarder.alarm_names
  }
}
