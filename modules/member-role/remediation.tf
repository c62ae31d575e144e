# The opt-in remediation role: assumed by the central remediation function only (its exact role ARN),
# to revert a change an approver asked for. It may read security-group rules (the live rule is
# compared with the alert before anything is changed) and revoke or modify them; nothing else.

locals {
  remediation_accounts = distinct([for arn in var.remediation_trusted_role_arns : split(":", arn)[4]])
}

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "remediation_trust" {
  count = length(var.remediation_trusted_role_arns) > 0 ? 1 : 0

  statement {
    sid     = "CentralRemediationFunctionOnly"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [for account in local.remediation_accounts : "arn:${data.aws_partition.current.partition}:iam::${account}:root"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = var.remediation_trusted_role_arns
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

data "aws_iam_policy_document" "remediation" {
  count = length(var.remediation_trusted_role_arns) > 0 ? 1 : 0

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

resource "aws_iam_role" "remediation" {
  count = length(var.remediation_trusted_role_arns) > 0 ? 1 : 0

  name                 = var.remediation_role_name
  description          = "SG Watch remediation: revokes or restores security-group rules an approver asked to revert."
  assume_role_policy   = data.aws_iam_policy_document.remediation_trust[0].json
  max_session_duration = 3600
  permissions_boundary = var.permissions_boundary_arn
  tags                 = merge(var.tags, { "sgwatch:capability" = "remediation" })
}

resource "aws_iam_role_policy" "remediation" {
  count = length(var.remediation_trusted_role_arns) > 0 ? 1 : 0

  name   = "${var.remediation_role_name}-revert"
  role   = aws_iam_role.remediation[0].id
  policy = data.aws_iam_policy_document.remediation[0].json
}
