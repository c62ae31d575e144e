# Slack is shared by every capability that posts to it: one bot token secret, one channel.
# The module never takes the token: either an existing secret is given, or an empty one is
# created here (KMS-encrypted with the module key) and its value set out of band.

resource "aws_secretsmanager_secret" "slack_token" {
  #checkov:skip=CKV2_AWS_57:A Slack bot token is issued by Slack; Secrets Manager cannot rotate it.
  count = var.create_slack_token_secret ? 1 : 0

  name                    = "${var.name_prefix}/slack-bot-token"
  description             = "Slack bot token (xoxb-...) used by SG Watch. Created empty: set it with aws secretsmanager put-secret-value."
  kms_key_id              = local.kms_key_arn
  recovery_window_in_days = 7
  tags                    = var.tags
}

locals {
  slack_token_secret_arn = var.create_slack_token_secret ? aws_secretsmanager_secret.slack_token[0].arn : var.slack_token_secret_arn
  # Known at plan time (no resource attribute), so modules can count on it.
  slack_enabled = var.slack_channel_id != null && (var.create_slack_token_secret || var.slack_token_secret_arn != null)
  slack = {
    token_secret_arn = local.slack_enabled ? local.slack_token_secret_arn : null
    channel_id       = local.slack_enabled ? var.slack_channel_id : null
  }
}
