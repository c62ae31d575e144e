# modules/organization-members applied in an organisation's management account (its own emulator
# account, reached like a member by assuming a role in it), with an OU holding one member account;
# and, for comparison, modules/member-role and modules/event-forwarder applied with the same inputs
# in the default account, as the per-account path deploys them.

provider "aws" {
  alias                       = "management"
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
  assume_role {
    role_arn = "arn:aws:iam::${local.management_account}:role/OrganizationAccountAccessRole"
  }
}

locals {
  management_account = "333333333333"
  trusted_role_arns  = ["arn:aws:iam::123456789012:role/om-test-sg-inventory", "arn:aws:iam::123456789012:role/om-test-unused-sg-audit"]
  # the root output remediation_role_arn: the opt-in remediation role, beside the member role
  remediation_trusted_role_arns = ["arn:aws:iam::123456789012:role/om-test-remediation"]
  organization_id               = "o-sgwatchtest1"
}

resource "aws_organizations_organization" "this" {
  provider = aws.management

  feature_set                   = "ALL"
  aws_service_access_principals = ["member.org.stacksets.cloudformation.amazonaws.com"]
}

resource "aws_organizations_organizational_unit" "workloads" {
  provider = aws.management

  name      = "workloads"
  parent_id = aws_organizations_organization.this.roots[0].id
}

# A second OU, without accounts: the OU the lifecycle test adds to the stack sets, then keeps alone.
resource "aws_organizations_organizational_unit" "platform" {
  provider = aws.management

  name      = "platform"
  parent_id = aws_organizations_organization.this.roots[0].id
}

variable "stack_set_ous" {
  description = "The OUs the stack sets target, by name."
  type        = list(string)
  default     = ["workloads"]
}

resource "aws_organizations_account" "member" {
  provider = aws.management

  name      = "om-test-member"
  email     = "om-test-member@example.com"
  parent_id = aws_organizations_organizational_unit.workloads.id
}

resource "aws_cloudwatch_event_bus" "central" {
  name = "om-test-security-groups"
}

module "organization_members" {
  source    = "../../../../modules/organization-members"
  providers = { aws = aws.management }

  name_prefix = "om-test"
  # The OU as the member account reports it: the stack set instances wait for the account.
  # Created in the same apply, so named by keys known at plan.
  organizational_units = { for name in var.stack_set_ous : name => {
    workloads = aws_organizations_account.member.parent_id
    platform  = aws_organizations_organizational_unit.platform.id
  }[name] }
  regions                          = ["us-east-1", "us-west-2"]
  trusted_role_arns                = local.trusted_role_arns
  remediation_trusted_role_arns    = local.remediation_trusted_role_arns
  organization_id                  = local.organization_id
  central_event_bus_arn            = aws_cloudwatch_event_bus.central.arn
  alarm_topic_name                 = "om-test-security-notifications"
  retain_stacks_on_account_removal = true
}

module "member_role" {
  source = "../../../../modules/member-role"

  name                          = module.organization_members.member_role_name
  trusted_role_arns             = local.trusted_role_arns
  remediation_trusted_role_arns = local.remediation_trusted_role_arns
  organization_id               = local.organization_id
}

module "event_forwarder" {
  source = "../../../../modules/event-forwarder"

  name_prefix           = "om-test"
  central_event_bus_arn = aws_cloudwatch_event_bus.central.arn
}

output "management_account" {
  value = local.management_account
}

output "member_account" {
  value = aws_organizations_account.member.id
}

output "organizational_unit_id" {
  value = aws_organizations_organizational_unit.workloads.id
}

output "central_event_bus_arn" {
  value = aws_cloudwatch_event_bus.central.arn
}

output "stack_set_names" {
  value = module.organization_members.stack_set_names
}

output "stack_instances" {
  value = module.organization_members.stack_instances
}

output "member_role_template" {
  value = module.organization_members.member_role_template
}

output "event_forwarder_template" {
  value = module.organization_members.event_forwarder_template
}

output "member_role_name" {
  value = module.member_role.role_name
}

output "forwarder_rule_name" {
  value = module.event_forwarder.rule_name
}

output "forwarder_role_arn" {
  value = module.event_forwarder.role_arn
}

output "forwarder_event_pattern" {
  value = module.event_forwarder.event_pattern
}

output "remediation_role_arn" {
  value = module.member_role.remediation_role_arn
}
