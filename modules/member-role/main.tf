# The read-only role the central SG Watch functions assume in a member account. Its policy is
# exactly the describe/list calls the inventory (sg_inventory) and the unused-group audit
# (unused_sg_audit) make in the account they read: everything that touches the central
# account (evidence bucket, alert topic, Security Hub of the delegated administrator,
# Organizations) stays on the central roles. The policy document itself is modules/read-permissions,
# shared with the central roles.

data "aws_partition" "current" {}

locals {
  arn = "arn:${data.aws_partition.current.partition}"
  # Accounts of the trusted roles: the trust names these accounts and pins the exact role
  # ARNs with aws:PrincipalArn, so a central role that is deleted and re-created (new unique
  # id) is still trusted, and nothing else in the central account is.
  trusted_accounts = distinct([for arn in var.trusted_role_arns : split(":", arn)[4]])
}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "CentralSgWatchFunctionsOnly"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [for account in local.trusted_accounts : "${local.arn}:iam::${account}:root"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = var.trusted_role_arns
    }
    dynamic "condition" {
      for_each = var.organization_id == null ? [] : [var.organization_id]
      content {
        test     = "StringEquals"
        variable = "aws:PrincipalOrgID"
        values   = [condition.value]
      }
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.name
  description          = "SG Watch: read-only access for the central inventory and unused-group audit"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary_arn
  tags                 = merge(var.tags, { "sgwatch:capability" = "member-role" })
}

module "read_permissions" {
  source = "../read-permissions"

  include_unused_sg_audit = var.include_unused_sg_audit
}

resource "aws_iam_role_policy" "read" {
  name   = "${var.name}-read"
  role   = aws_iam_role.this.id
  policy = module.read_permissions.policy_json
}
