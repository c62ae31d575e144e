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
    sid       = "ReadEvidence"
    actions   = ["s3:GetObject"]
    resources = ["${var.evidence_bucket_arn}/${var.evidence_prefix}*"]
  }

  # Writes only its own key kinds (never reviews/, events/ or another capability's records).
  statement {
    sid     = "WriteSnapshotsDiffsAndClaims"
    actions = ["s3:PutObject"]
    resources = [
      for kind in ["snapshots", "diffs", "claims"] : "${var.evidence_bucket_arn}/${var.evidence_prefix}*/${kind}/*"
    ]
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
