# Slack is shared by every capability that posts to it: one bot token secret, one channel.
# The module never takes the token: either an existing secret is given, or an empty one is
# created here (KMS-encrypted with the module key) and its value set out of band.

locals {
  # The slack input, each field falling back on its deprecated alias (slack_channel_id, ...).
  slack_given = var.slack == null ? {} : { for field, value in var.slack : field => value if value != null }
  slack_alias = {
    channel_id         = var.slack_channel_id
    token_secret_arn   = var.slack_token_secret_arn
    secret_kms_key_arn = var.slack_secret_kms_key_arn
    api_url            = var.slack_api_url
  }
  slack_input = merge(local.slack_alias, local.slack_given)
  # Fields set both ways, to different values.
  slack_conflicts = [for field, value in local.slack_alias : field if value != null && lookup(local.slack_given, field, value) != value]

  create_slack_token_secret = try(var.slack.create_token_secret, false) || var.create_slack_token_secret
  slack_token_secret_arn    = local.create_slack_token_secret ? aws_secretsmanager_secret.slack_token[0].arn : local.slack_input.token_secret_arn
  # Known at plan time (no resource attribute), so modules can count on it.
  slack_enabled = local.slack_input.channel_id != null && (local.create_slack_token_secret || local.slack_input.token_secret_arn != null)
  # What every posting function gets (modules/lambda-function's slack); null leaves Slack off.
  slack = local.slack_enabled ? {
    token_secret_arn   = local.slack_token_secret_arn
    channel_id         = local.slack_input.channel_id
    secret_kms_key_arn = local.slack_input.secret_kms_key_arn
    api_url            = local.slack_input.api_url
  } : null
}

resource "aws_secretsmanager_secret" "slack_token" {
  #checkov:skip=CKV2_AWS_57:A Slack bot token is issued by Slack; Secrets Manager cannot rotate it.
  count = local.create_slack_token_secret ? 1 : 0

  name                    = "${var.name_prefix}/slack-bot-token"
  description             = "Slack bot token (xoxb-...) used by SG Watch. Created empty: set it with aws secretsmanager put-secret-value."
  kms_key_id              = local.kms_key_arn
  recovery_window_in_days = 7
  tags                    = var.tags
}
