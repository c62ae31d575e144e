data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # GetFindings authorises against the Security Hub hub of the region (the aggregation
  # region's hub also returns the findings of its linked regions).
  hub_arn = "arn:${data.aws_partition.current.partition}:securityhub:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:hub/default"
  # Deprecated (removed in 3.0.0): the module creating its own token secret. The root module, like every
  # other capability's caller, passes the ARN of the one secret its slack input names or creates.
  create_token_secret = try(var.slack.create_token_secret, false)
  token_secret_arn    = local.create_token_secret ? aws_secretsmanager_secret.slack_token[0].arn : try(var.slack.token_secret_arn, null)
  alert_topic_arn     = coalesce(var.alert_topic_arn, try(var.lambda_settings.alarm_topic_arn, null), "none")
  has_alert_topic     = local.alert_topic_arn != "none"
  capability          = "securityhub-report"
}

resource "aws_secretsmanager_secret" "slack_token" {
  count = local.create_token_secret ? 1 : 0
  #checkov:skip=CKV2_AWS_57:A Slack bot token is issued by Slack, not rotatable by a Secrets Manager rotation function; the operator replaces it.

  name                    = "${var.name_prefix}/securityhub-report/slack-token"
  description             = "Slack bot token (xoxb-...) of the SG Watch Security Hub report. Terraform creates it empty: set the value with aws secretsmanager put-secret-value."
  kms_key_id              = var.lambda_settings.kms_key_arn
  recovery_window_in_days = var.slack_token_secret_recovery_days
  tags                    = merge(try(var.lambda_settings.tags, {}), { "sgwatch:capability" = local.capability })
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadFindings"
    actions   = ["securityhub:GetFindings"]
    resources = [local.hub_arn]
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
      condition     = var.slack != null && local.create_token_secret != (try(var.slack.token_secret_arn, null) != null)
      error_message = "slack needs a channel_id and exactly one of token_secret_arn (an existing secret) or the deprecated create_token_secret = true."
    }
  }
}

module "function" {
  source = "../lambda-function"

  name_prefix  = var.name_prefix
  capability   = local.capability
  function_key = "securityhub_report"
  description  = "SG Watch: post open failed Security Hub control findings to Slack as CSV."
  settings     = var.lambda_settings
  policy_json  = data.aws_iam_policy_document.function.json
  timeout      = var.timeout
  memory_size  = 512

  # A created secret is encrypted with the module key, which the function already has.
  slack = {
    token_secret_arn   = local.token_secret_arn
    channel_id         = try(var.slack.channel_id, null)
    secret_kms_key_arn = local.create_token_secret ? null : try(var.slack.secret_kms_key_arn, null)
    api_url            = try(var.slack.api_url, null)
  }

  environment = {
    CONTROL_IDS       = join(",", var.control_ids)
    SEVERITIES        = join(",", var.severities)
    OWNER_TAG_KEY     = var.owner_tag_key
    OWNER_SLACK_IDS   = jsonencode(var.owner_slack_ids)
    REPORT_WHEN_EMPTY = tostring(var.report_when_empty)
    ALERT_TOPIC_ARN   = local.has_alert_topic ? local.alert_topic_arn : ""
  }

  schedule = {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
  }
}
