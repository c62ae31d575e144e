data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

module "read_permissions" {
  source = "../read-permissions"

  include_inventory = false
}

data "aws_iam_policy_document" "function" {
  # Every source the audit scans: the same document the member accounts' role carries.
  source_policy_documents = [module.read_permissions.policy_json]

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
      resources = ["arn:${data.aws_partition.current.partition}:securityhub:*:${data.aws_caller_identity.current.account_id}:hub/default"]
    }
  }
}

module "function" {
  source = "../lambda-function"

  name_prefix  = var.name_prefix
  capability   = "unused-sg-audit"
  function_key = "unused_sg_audit"
  description  = "SG Watch: report truly unused security groups with the reasons the others are in use (read-only)."
  settings     = var.lambda_settings
  policy_json  = data.aws_iam_policy_document.function.json
  timeout      = var.timeout
  memory_size  = var.memory_size
  accounts     = merge(var.accounts, { regions = var.regions })

  # Reports live under {prefix}{account}/{region}/unused/: the audit reads and writes those only.
  evidence = merge(var.evidence, { read = ["*/unused/*"], write = ["*/unused/*"] })

  environment = {
    ALERT_TOPIC_ARN         = var.alert_topic_arn
    EXEMPT_TAG_KEY          = var.exempt_tag_key
    GRACE_DAYS              = tostring(var.grace_days)
    ALLOW_PARTIAL           = tostring(var.allow_partial)
    SECURITYHUB_SYNC        = tostring(var.securityhub_sync)
    SECURITYHUB_CONTROL_IDS = join(",", var.securityhub_control_ids)
  }

  schedule = {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
  }
}
