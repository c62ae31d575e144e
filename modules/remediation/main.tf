# Remediation: Slack's interaction endpoint (a Lambda function URL, the module's only internet-facing
# part) and the function behind it. A request is checked (size, Slack's signature with the signing
# secret, the click) and queued on the function's own work queue; the queued job checks the
# approver, writes the decision once, reverts what the alert showed and updates the alert.

locals {
  capability    = "remediation"
  function_name = "${var.name_prefix}-remediation"
  tags          = merge(try(var.lambda_settings.tags, {}), { "sgwatch:capability" = local.capability })
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# The app's signing secret: created empty, its value set out of band (README, "Remediation from
# Slack"); never a variable, so never in the state.
resource "aws_secretsmanager_secret" "signing" {
  #checkov:skip=CKV2_AWS_57:A Slack signing secret is issued by Slack; Secrets Manager cannot rotate it.
  name                    = "${var.name_prefix}/slack-signing-secret"
  description             = "Slack app signing secret used by SG Watch to verify interaction requests. Created empty: set it with aws secretsmanager put-secret-value."
  kms_key_id              = var.lambda_settings.kms_key_arn
  recovery_window_in_days = 7
  tags                    = local.tags
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadSigningSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.signing.arn]
  }

  statement {
    sid = "DescribeRules"
    # The live rule is compared with what the alert showed before anything is changed; no resource-level permissions.
    actions   = ["ec2:DescribeSecurityGroupRules"]
    resources = ["*"]
  }

  statement {
    sid     = "RevertRules"
    actions = ["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:ModifySecurityGroupRules"]
    resources = [
      "arn:${data.aws_partition.current.partition}:ec2:*:${data.aws_caller_identity.current.account_id}:security-group/*",
      "arn:${data.aws_partition.current.partition}:ec2:*:${data.aws_caller_identity.current.account_id}:security-group-rule/*",
    ]
  }

  # Auto mode: Restore as exception authorizes the rules the notifier revoked again (own account only: the
  # notifier reverts nothing elsewhere).
  dynamic "statement" {
    for_each = var.remediation.mode == "auto" ? [1] : []
    content {
      sid     = "PutBackRules"
      actions = ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress"]
      resources = [
        "arn:${data.aws_partition.current.partition}:ec2:*:${data.aws_caller_identity.current.account_id}:security-group/*",
        "arn:${data.aws_partition.current.partition}:ec2:*:${data.aws_caller_identity.current.account_id}:security-group-rule/*",
      ]
    }
  }
}

module "function" {
  source = "../lambda-function"

  name_prefix  = var.name_prefix
  capability   = local.capability
  function_key = "remediation"
  description  = "SG Watch: Slack interaction endpoint; reverts a qualifying security-group change an approver asked for."
  settings     = var.lambda_settings
  policy_json  = data.aws_iam_policy_document.function.json
  timeout      = 60
  memory_size  = 256
  slack        = var.slack
  accounts     = var.accounts
  # The clicks are queued here (the acknowledgement must not wait for the revert); a job that keeps
  # failing ends in the work dead-letter queue, with an alarm.
  fan_out = { max_concurrency = 2 }

  # Reads the alerts' event records and the decisions; writes only decisions and outcomes.
  evidence = merge(var.evidence, {
    read  = ["*/events/*", "*/remediation/*"]
    write = ["*/remediation/*"]
  })

  environment = {
    REMEDIATION_MODE             = var.remediation.mode
    REMEDIATION_MIN_SEVERITY     = var.remediation.min_severity
    REMEDIATION_ONLY_OUT_OF_BAND = tostring(var.remediation.only_out_of_band)
    REMEDIATION_APPROVERS        = join(",", var.remediation.approvers)
    # The Keep dialog's expiry is at most this many days ahead.
    REMEDIATION_EXCEPTION_MAX_DAYS = tostring(var.remediation.exception_max_days)
    SLACK_SIGNING_SECRET_ARN       = aws_secretsmanager_secret.signing.arn
  }
}

# Slack's interactivity request URL. Slack cannot sign AWS requests, so the URL takes no IAM auth:
# every request is verified by the function (size, then Slack's v0 signature) before anything is read.
resource "aws_lambda_function_url" "interactions" {
  #checkov:skip=CKV_AWS_258:Slack's interactivity requests cannot carry AWS IAM signatures; the function verifies Slack's HMAC signature on every request before reading it.
  function_name      = module.function.function_name
  authorization_type = "NONE"
}

resource "aws_lambda_permission" "interactions" {
  #checkov:skip=CKV_AWS_301:Only lambda:InvokeFunctionUrl of a NONE-auth URL is public, as Slack's interactivity requires; the function verifies Slack's HMAC signature on every request before reading it.
  statement_id           = "${var.name_prefix}-remediation-url"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = module.function.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}
