# The read-only role the central SG Watch functions assume in a member account. Its policy is
# exactly the describe/list calls the inventory (sg_inventory) and the unused-group audit
# (unused_sg_audit) make in the account they read: everything that touches the central
# account (evidence bucket, alert topic, Security Hub of the delegated administrator,
# Organizations) stays on the central roles.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  arn = "arn:${data.aws_partition.current.partition}"
  acc = data.aws_caller_identity.current.account_id
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

data "aws_iam_policy_document" "read" {
  statement {
    sid = "DescribeSecurityGroups"
    # sg_inventory (and the audit). Describe calls have no resource-level permissions.
    actions   = ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.include_unused_sg_audit ? [1] : []
    content {
      sid = "ReadEc2References"
      # EC2 Describe* calls have no resource-level permissions: "*" is the only valid resource.
      actions = [
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeLaunchTemplates",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:DescribeVpcPeeringConnections",
        "ec2:DescribeTransitGatewayVpcAttachments",
      ]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.include_unused_sg_audit ? [1] : []
    content {
      sid = "ReadServiceConfigurations"
      # Account-wide List/Describe calls without resource-level permissions: "*" is the only
      # valid resource. cloudtrail:LookupEvents reads this account's own event history (when
      # a group was created, for the grace period), so it is a member-account call too.
      actions = [
        "autoscaling:DescribeLaunchConfigurations",
        "lambda:ListFunctions",
        "ecs:ListClusters",
        "ecs:ListServices",
        "events:ListEventBuses",
        "events:ListRules",
        "scheduler:ListSchedules",
        "codebuild:ListProjects",
        "batch:DescribeComputeEnvironments",
        "redshift:DescribeClusters",
        "dms:DescribeReplicationInstances",
        "kafka:ListClustersV2",
        "sagemaker:ListNotebookInstances",
        "elasticloadbalancing:DescribeLoadBalancers",
        "cloudtrail:LookupEvents",
      ]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.include_unused_sg_audit ? [1] : []
    content {
      sid = "ReadServiceConfigurationsOfThisAccount"
      # Read-only calls that support resource-level permissions: any resource of this
      # account, in any region (the resources are only found at run time).
      actions = [
        "ec2:DescribeSecurityGroupReferences",
        "ecs:DescribeServices",
        "events:ListTargetsByRule",
        "scheduler:GetSchedule",
        "codebuild:BatchGetProjects",
        "glue:GetConnections",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "elasticache:DescribeCacheClusters",
        "sagemaker:DescribeNotebookInstance",
        "elasticfilesystem:DescribeFileSystems",
        "elasticfilesystem:DescribeMountTargets",
        "elasticfilesystem:DescribeMountTargetSecurityGroups",
      ]
      resources = [
        "${local.arn}:ec2:*:${local.acc}:security-group/*",
        "${local.arn}:ecs:*:${local.acc}:service/*",
        "${local.arn}:events:*:${local.acc}:rule/*",
        "${local.arn}:scheduler:*:${local.acc}:schedule/*",
        "${local.arn}:codebuild:*:${local.acc}:project/*",
        "${local.arn}:glue:*:${local.acc}:catalog",
        "${local.arn}:glue:*:${local.acc}:connection/*",
        "${local.arn}:rds:*:${local.acc}:db:*",
        "${local.arn}:rds:*:${local.acc}:cluster:*",
        "${local.arn}:elasticache:*:${local.acc}:cluster:*",
        "${local.arn}:sagemaker:*:${local.acc}:notebook-instance/*",
        "${local.arn}:elasticfilesystem:*:${local.acc}:file-system/*",
      ]
    }
  }
}

resource "aws_iam_role_policy" "read" {
  name   = "${var.name}-read"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.read.json
}
