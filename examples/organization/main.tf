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
  trusted_role_arns = values(module.sgwatch.function_role_arns)
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
