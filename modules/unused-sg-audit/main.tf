data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # Reports live under {prefix}{account}/{region}/unused/.
  report_keys = "${var.evidence_prefix}*/unused/*"
  # Resource ARNs of this account in every region (REGIONS may list several).
  arn = "arn:${data.aws_partition.current.partition}"
  acc = data.aws_caller_identity.current.account_id
}

data "aws_iam_policy_document" "function" {
  statement {
    sid = "ReadEc2References"
    # EC2 Describe* calls have no resource-level permissions: "*" is the only valid resource.
    actions = [
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeLaunchTemplates",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:DescribeVpcPeeringConnections",
      "ec2:DescribeTransitGatewayVpcAttachments",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ReadServiceConfigurations"
    # These account-wide List/Describe calls have no resource-level permissions:
    # "*" is the only valid resource. All are read-only.
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

  statement {
    sid = "ReadServiceConfigurationsOfThisAccount"
    # Read-only calls that do support resource-level permissions: any resource of this
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

  statement {
    sid       = "FindPreviousReport"
    actions   = ["s3:ListBucket"]
    resources = [var.evidence_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.report_keys]
    }
  }

  statement {
    sid       = "ReadAndWriteReports"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.evidence_bucket_arn}/${local.report_keys}"]
  }

  statement {
    sid       = "PublishSummary"
    actions   = ["sns:Publish"]
    resources = [var.alert_topic_arn]
  }

  dynamic "statement" {
    for_each = var.securityhub_sync ? [1] : []
    content {
      sid       = "SyncSecurityHubFindings"
      actions   = ["securityhub:GetFindings", "securityhub:BatchUpdateFindings"]
      resources = ["${local.arn}:securityhub:*:${local.acc}:hub/default"]
    }
  }

  dynamic "statement" {
    for_each = local.multi_account ? [1] : []
    content {
      sid     = "ReadMemberAccounts"
      actions = ["sts:AssumeRole"]
      # Exactly the listed accounts' member role; any account's when the list comes from Organizations.
      resources = var.accounts.from_organizations ? ["arn:${data.aws_partition.current.partition}:iam::*:role/${var.accounts.member_role_name}"] : [
        for id in var.accounts.ids : "arn:${data.aws_partition.current.partition}:iam::${id}:role/${var.accounts.member_role_name}"
      ]
    }
  }

  dynamic "statement" {
    for_each = var.accounts.from_organizations ? [1] : []
    content {
      sid = "ListOrganizationAccounts"
      # ListAccounts has no resource-level permissions.
      actions   = ["organizations:ListAccounts"]
      resources = ["*"]
    }
  }
}

locals {
  multi_account = length(var.accounts.ids) > 0 || var.accounts.from_organizations
}

module "function" {
  source = "../lambda-function"

  name_prefix  = var.name_prefix
  function_key = "unused_sg_audit"
  description  = "SG Watch: report truly unused security groups with the reasons the others are in use (read-only)."
  settings     = var.lambda_settings
  policy_json  = data.aws_iam_policy_document.function.json
  timeout      = var.timeout
  memory_size  = var.memory_size

  environment = {
    ACCOUNTS                    = join(",", var.accounts.ids)
    ACCOUNTS_FROM_ORGANIZATIONS = tostring(var.accounts.from_organizations)
    EXCLUDED_ACCOUNTS           = join(",", var.accounts.excluded)
    MEMBER_ROLE_NAME            = var.accounts.member_role_name
    MAX_WORKERS                 = tostring(var.accounts.max_workers)
    EVIDENCE_BUCKET             = var.evidence_bucket_name
    EVIDENCE_PREFIX             = var.evidence_prefix
    ALERT_TOPIC_ARN             = var.alert_topic_arn
    REGIONS                     = join(",", var.regions)
    EXEMPT_TAG_KEY              = var.exempt_tag_key
    GRACE_DAYS                  = tostring(var.grace_days)
    ALLOW_PARTIAL               = tostring(var.allow_partial)
    SECURITYHUB_SYNC            = tostring(var.securityhub_sync)
    SECURITYHUB_CONTROL_IDS     = join(",", var.securityhub_control_ids)
  }

  schedule = {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
  }
}
