data "aws_partition" "current" {}

module "read_permissions" {
  source = "../read-permissions"

  include_unused_sg_audit = false
}

data "aws_iam_policy_document" "function" {
  # DescribeSecurityGroups and DescribeSecurityGroupRules, as the member accounts' role has them.
  source_policy_documents = [module.read_permissions.policy_json]

  statement {
    sid       = "FindPreviousSnapshot"
    actions   = ["s3:ListBucket"]
    resources = [var.evidence_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.evidence_prefix}*"]
    }
  }

  statement {
    sid       = "ReadAndWriteEvidence"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.evidence_bucket_arn}/${var.evidence_prefix}*"]
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
  function_key = "sg_inventory"
  description  = "SG Watch: snapshot every security-group rule to the evidence bucket and diff it."
  settings     = var.lambda_settings
  policy_json  = data.aws_iam_policy_document.function.json
  work_queue   = var.accounts.fan_out ? { max_concurrency = var.accounts.fan_out_max_concurrency } : null
  timeout      = 900
  memory_size  = 512

  environment = {
    ACCOUNTS                    = join(",", var.accounts.ids)
    ACCOUNTS_FROM_ORGANIZATIONS = tostring(var.accounts.from_organizations)
    EXCLUDED_ACCOUNTS           = join(",", var.accounts.excluded)
    MEMBER_ROLE_NAME            = var.accounts.member_role_name
    MAX_WORKERS                 = tostring(var.accounts.max_workers)
    EVIDENCE_BUCKET             = var.evidence_bucket_name
    EVIDENCE_PREFIX             = var.evidence_prefix
    REGIONS                     = join(",", var.regions)
  }

  schedule = {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
  }
}
