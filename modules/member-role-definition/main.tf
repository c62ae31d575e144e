# What the member role is, wherever it is created: its name, trust, read policy, description,
# session length and tags, validated here once. Creates nothing: modules/member-role creates the
# role with Terraform in one account, modules/organization-members puts it in a StackSet template
# for every account of the chosen OUs.
#
# The central functions that assume it: the inventory (sg_inventory) and the unused-group audit
# (unused_sg_audit) read the account through it, and the change notifier (sg_change_notifier)
# describes the changed group, its exposure and tags when a member account's change is alerted.
# Everything that touches the central account (evidence bucket, alert topic, Security Hub of the
# delegated administrator, Organizations) stays on the central roles.

data "aws_partition" "current" {}

# Who may assume each role: the central roles' accounts, with their exact role ARNs pinned by
# aws:PrincipalArn, so a central role that is deleted and re-created (new unique id) is still trusted, and
# nothing else in the central account is; and, when set, only principals of the organisation.
locals {
  remediation_enabled = length(var.role.remediation_trusted_role_arns) > 0
  trusted = merge(
    { read = { sid = "CentralSgWatchFunctionsOnly", role_arns = var.role.trusted_role_arns } },
    local.remediation_enabled ? {
      remediation = { sid = "CentralRemediationFunctionOnly", role_arns = var.role.remediation_trusted_role_arns }
    } : {},
  )
}

data "aws_iam_policy_document" "trust" {
  for_each = local.trusted

  statement {
    sid     = each.value.sid
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [for account in distinct([for arn in each.value.role_arns : split(":", arn)[4]]) : "arn:${data.aws_partition.current.partition}:iam::${account}:root"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = each.value.role_arns
    }
    dynamic "condition" {
      for_each = var.role.organization_id == null ? [] : [var.role.organization_id]
      content {
        test     = "StringEquals"
        variable = "aws:PrincipalOrgID"
        values   = [condition.value]
      }
    }
  }
}

# The describe/list calls of the functions above, shared with their central roles.
module "read_permissions" {
  source = "../read-permissions"

  include_unused_sg_audit = var.role.include_unused_sg_audit
}

# --- the opt-in remediation role ---------------------------------------------------------------------
# Assumed by the central remediation function only (its exact role ARN), to revert a change an approver
# asked for: it may read security-group rules (the live rule is compared with the alert before anything is
# changed) and revoke or modify them; nothing else.

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "remediation" {
  statement {
    sid       = "ReadRulesBeforeReverting"
    actions   = ["ec2:DescribeSecurityGroupRules"]
    resources = ["*"]
  }

  statement {
    sid     = "RevokeOrRestoreRules"
    actions = ["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:ModifySecurityGroupRules"]
    resources = [
      "arn:${data.aws_partition.current.partition}:ec2:*:${data.aws_caller_identity.current.account_id}:security-group/*",
      "arn:${data.aws_partition.current.partition}:ec2:*:${data.aws_caller_identity.current.account_id}:security-group-rule/*",
    ]
  }
}
