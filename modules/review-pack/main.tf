locals {
  slack_enabled = var.slack_token_secret_arn != null && var.slack_channel_id != null
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ListEvidence"
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

  statement {
    sid       = "WriteReviewPacks"
    actions   = ["s3:PutObject"]
    resources = ["${var.evidence_bucket_arn}/${var.evidence_prefix}reviews/*"]
  }

  dynamic "statement" {
    for_each = var.alert_topic_arn == null ? [] : [var.alert_topic_arn]
    content {
      sid       = "AnnouncePack"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.slack_enabled ? [var.slack_token_secret_arn] : []
    content {
      sid       = "ReadSlackToken"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.slack_enabled && var.slack_secret_kms_key_arn != null ? [var.slack_secret_kms_key_arn] : []
    content {
      sid       = "DecryptSlackToken"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

module "function" {
  source = "../lambda-function"

  name_prefix  = var.name_prefix
  function_key = "review_pack"
  description  = "SG Watch: six-monthly PCI DSS 1.2.7 review pack (report, CSVs, manifest, sign-off record)."
  settings     = var.lambda_settings
  policy_json  = data.aws_iam_policy_document.function.json
  timeout      = 900
  memory_size  = var.memory_size

  environment = merge(
    {
      EVIDENCE_BUCKET   = var.evidence_bucket_name
      EVIDENCE_PREFIX   = var.evidence_prefix
      SCHEDULE_TIMEZONE = var.schedule_timezone
    },
    var.alert_topic_arn == null ? {} : { ALERT_TOPIC_ARN = var.alert_topic_arn },
    local.slack_enabled ? {
      SLACK_TOKEN_SECRET_ARN = var.slack_token_secret_arn
      SLACK_CHANNEL_ID       = var.slack_channel_id
    } : {},
    local.slack_enabled && var.slack_api_url != null ? { SLACK_API_URL = var.slack_api_url } : {},
  )

  schedule = {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
    input      = "{}"
  }
}
