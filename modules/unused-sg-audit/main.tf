data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # Reports live under {prefix}{account}/{region}/unused/.
  report_keys = "${var.evidence_prefix}*/unused/*"
  # Resource ARNs of this account in every region (REGIONS may list several).
  arn = "arn:${data.aws_partition.current.partition}"
  acc = data.aws_caller_identity.current.account_id
}

module "read_permissions" {
  source = "../read-permissions"

  include_inventory = false
}

data "aws_iam_policy_document" "function" {
  # Every source the audit scans: the same document the member accounts' role carries.
  source_policy_documents = [module.read_permissions.policy_json]

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

  # Exactly the listed accounts' member role.
  dynamic "statement" {
    for_each = length(var.accounts.ids) > 0 ? [1] : []
    content {
      sid     = "ReadMemberAccounts"
      actions = ["sts:AssumeRole"]
      resources = [
        for id in var.accounts.ids : "arn:${data.aws_partition.current.partition}:iam::${id}:role/${var.accounts.member_role_name}"
      ]
    }
  }

  # The member role of any account when the list comes from Organizations, and then only in
  # accounts of the organisation when its id is known: aws:ResourceOrgID is the organisation of
  # the account owning the role being assumed. The function also refuses queued accounts that
  # are not ACTIVE accounts of the organisation (functions/sgwatch/fanout.py).
  dynamic "statement" {
    for_each = var.accounts.from_organizations ? [1] : []
    content {
      sid       = "ReadOrganizationMemberAccounts"
      actions   = ["sts:AssumeRole"]
      resources = ["arn:${data.aws_partition.current.partition}:iam::*:role/${var.accounts.member_role_name}"]

      dynamic "condition" {
        for_each = var.accounts.organization_id == null ? [] : [var.accounts.organization_id]
        content {
          test     = "StringEquals"
          variable = "aws:ResourceOrgID"
          values   = [condition.value]
        }
      }
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

module "function" {
  source = "../lambda-function"

  name_prefix  = var.name_prefix
  function_key = "unused_sg_audit"
  description  = "SG Watch: report truly unused security groups with the reasons the others are in use (read-only)."
  settings     = var.lambda_settings
  policy_json  = data.aws_iam_policy_document.function.json
  work_queue   = var.accounts.fan_out ? { max_concurrency = var.accounts.fan_out_max_concurrency } : null
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
