# The capabilities most deployments turn on, with the settings a security team usually changes (README.md
# says what is left out).
provider "aws" {
  region = var.region
}

module "sgwatch" {
  source = "../../"

  name_prefix = var.name_prefix
  tags        = { Owner = "security", CostCenter = "platform" }

  alert_emails = var.alert_emails
  regions      = var.regions

  inventory_schedule_expression = "cron(0 5 * * ? *)"
  inventory_schedule_timezone   = "Europe/Berlin"

  evidence_retention_days     = 400
  evidence_force_destroy      = var.evidence_force_destroy
  evidence_destroy_protection = !var.evidence_force_destroy

  # Change control (PCI DSS 1.2.2): a change by one of these principals is "approved", by anyone else
  # "out-of-band"; a console, CLI or SDK change to a group carrying one of these tag keys is flagged as a
  # manual change to an IaC-managed group.
  approved_change_principals = var.approved_change_principals
  iac_managed_tag_keys       = ["aws:cloudformation:stack-id", "ManagedBy"]

  # Weekly audit of groups nothing uses, with the reasons the others are in use.
  enable_unused_sg_audit = true
  unused_sg_grace_days   = 7

  # Security Hub report to Slack: on when a channel is given. The module creates an empty
  # secret; put the bot token in it out of band (see the README).
  enable_securityhub_report = var.slack_channel_id != null
  securityhub_control_ids   = ["EC2.2", "EC2.18", "EC2.19", "S3.1", "IAM.1"]
  slack = var.slack_channel_id == null ? null : {
    channel_id          = var.slack_channel_id
    create_token_secret = true
  }

  # Athena over the evidence in place (Glue tables, a workgroup, named queries); attach
  # evidence_query_policy_arn to whoever runs them.
  enable_evidence_queries = var.enable_evidence_queries

  # A Revert button on CRITICAL out-of-band change alerts in Slack, for these approvers (see the README's
  # "Remediation from Slack"): needs the Slack channel.
  remediation = var.remediation_approvers == null ? null : { approvers = var.remediation_approvers }
}
