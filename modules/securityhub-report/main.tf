data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # GetFindings authorises against the Security Hub hub of the region (the aggregation
  # region's hub also returns the findings of its linked regions).
  hub_arn          = "arn:${data.aws_partition.current.partition}:securityhub:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:hub/default"
  token_secret_arn = var.create_slack_token_secret ? aws_secretsmanager_secret.slack_token[0].arn : var.slack_token_secret_arn
  alert_topic_arn  = coalesce(var.alert_topic_arn, var.lambda_settings.alarm_topic_arn, "none")
  has_alert_topic  = local.alert_topic_arn != "none"
  # The module key is already granted by modules/lambda-function; only a foreign key needs a grant here.
  foreign_secret_key = (
    !var.create_slack_token_secret && var.slack_token_secret_kms_key_arn != null
    && var.slack_token_secret_kms_key_arn != var.lambda_settings.kms_key_arn
  )
}

resource "aws_secretsmanager_secret" "slack_token" {
  count = var.create_slack_token_secret ? 1 : 0
  #checkov:skip=CKV2_AWS_57:A Slack bot token is issued by Slack, not rotatable by a Secrets Manager rotation function; the operator replaces it.

  name                    = "${var.name_prefix}/securityhub-report/slack-token"
  description             = "Slack bot token (xoxb-...) of the SG Watch Security Hub report. Terraform creates it empty: set the value with aws secretsmanager put-secret-value."
  kms_key_id              = var.lambda_settings.kms_key_arn
  recovery_window_in_days = var.slack_token_secret_recovery_days
  tags                    = merge(var.lambda_settings.tags, { "sgwatch:function" = "securityhub_report" })
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadFindings"
    actions   = ["securityhub:GetFindings"]
    resources = [local.hub_arn]
  }

  statement {
    sid       = "ReadSlackToken"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.token_secret_arn]
  }

  dynamic "statement" {
    for_each = local.foreign_secret_key ? [var.slack_token_secret_kms_key_arn] : []
    content {
      sid       = "DecryptSlackToken"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:SecretARN"
        values   = [local.token_secret_arn]
      }
    }
  }

  dynamic "statement" {
    for_each = local.has_alert_topic ? [local.alert_topic_arn] : []
    content {
      sid       = "FallbackAlert"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }

  lifecycle {
    precondition {
      condition     = var.create_slack_token_secret != (var.slack_token_secret_arn != null)
      error_message = "Set exactly one of slack_token_secret_arn (an existing secret) or create_slack_token_secret = true."
    }
  }
}

module "function" {
  source = "../lambda-function"

  name_prefix  = var.name_prefix
  function_key = "securityhub_report"
  description  = "SG Watch: post open failed Security Hub control findings to Slack as CSV."
  settings     = var.lambda_settings
  policy_json  = data.aws_iam_policy_document.function.json
  timeout      = var.timeout
  memory_size  = 512

  environment = merge(
    {
      SLACK_TOKEN_SECRET_ARN = local.token_secret_arn
      SLACK_CHANNEL_ID       = var.slack_channel_id
      CONTROL_IDS            = join(",", var.control_ids)
      SEVERITIES             = join(",", var.severities)
      OWNER_TAG_KEY          = var.owner_tag_key
      OWNER_SLACK_IDS        = jsonencode(var.owner_slack_ids)
      REPORT_WHEN_EMPTY      = tostring(var.report_when_empty)
      ALERT_TOPIC_ARN        = local.has_alert_topic ? local.alert_topic_arn : ""
    },
    var.slack_api_url == null ? {} : { SLACK_API_URL = var.slack_api_url },
  )

  schedule = {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
  }
}
