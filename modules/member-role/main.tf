# The read-only role the central SG Watch functions assume in a member account: the inventory
# (sg_inventory) and the unused-group audit (unused_sg_audit) read the account through it, the change
# notifier (sg_change_notifier) describes a changed group, its exposure and tags. What the role is
# (trust, read policy, name, description) comes from modules/member-role-definition, which
# modules/organization-members puts in its StackSet template too; this module creates it.

module "definition" {
  source = "../member-role-definition"

  role = {
    name                    = var.name
    trusted_role_arns       = var.trusted_role_arns
    organization_id         = var.organization_id
    include_unused_sg_audit = var.include_unused_sg_audit
    max_session_duration    = var.max_session_duration

    remediation_trusted_role_arns = var.remediation_trusted_role_arns
    remediation_role_name         = var.remediation_role_name
  }
}

locals {
  role = module.definition.role
}

resource "aws_iam_role" "this" {
  name                 = local.role.name
  description          = local.role.description
  assume_role_policy   = local.role.trust_policy_json
  max_session_duration = local.role.max_session_duration
  permissions_boundary = var.permissions_boundary_arn
  tags                 = merge(var.tags, local.role.tags)
}

resource "aws_iam_role_policy" "read" {
  name   = local.role.read_policy_name
  role   = aws_iam_role.this.id
  policy = local.role.read_policy_json
}
