data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  deployed_key  = coalesce(var.deployed_key, var.function_key)
  function_name = "${var.name_prefix}-${replace(local.deployed_key, "_", "-")}"
  package_path  = "${path.module}/../../functions/dist/${var.function_key}.zip"
  account_id    = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.name
  log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.function_name}"
  tags          = merge(var.settings.tags, { "sgwatch:capability" = var.capability, "sgwatch:function" = local.deployed_key })

  environment = merge(
    var.environment,
    local.work_queue ? { WORK_QUEUE_URL = module.work_queue[0].url } : {},
    var.fan_out == null ? {} : { WORK_MAX_RECEIVES = tostring(local.work_max_receive_count) },
    var.evidence == null ? {} : { EVIDENCE_BUCKET = var.evidence.bucket_name, EVIDENCE_PREFIX = var.evidence.prefix },
    var.slack == null ? {} : { SLACK_TOKEN_SECRET_ARN = var.slack.token_secret_arn, SLACK_CHANNEL_ID = var.slack.channel_id },
    try(var.slack.api_url, null) == null ? {} : { SLACK_API_URL = var.slack.api_url },
    var.accounts == null ? {} : {
      ACCOUNTS                    = join(",", var.accounts.ids)
      ACCOUNTS_FROM_ORGANIZATIONS = tostring(var.accounts.from_organizations)
      EXCLUDED_ACCOUNTS           = join(",", var.accounts.excluded)
      MEMBER_ROLE_NAME            = var.accounts.member_role_name
      MAX_WORKERS                 = tostring(var.accounts.max_workers)
    },
    try(var.accounts.regions, null) == null ? {} : { REGIONS = join(",", var.accounts.regions) },
    var.authorized_public_ports == null ? {} : { AUTHORIZED_PUBLIC_PORTS = join(",", var.authorized_public_ports) },
  )
}

# The services that assume the roles below on this account's behalf: Lambda (the execution role)
# and, with a schedule, EventBridge Scheduler (schedule.tf).
data "aws_iam_policy_document" "assume" {
  for_each = merge({ lambda = "lambda.amazonaws.com" }, var.schedule == null ? {} : { scheduler = "scheduler.amazonaws.com" })

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [each.value]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "function" {
  name                 = local.function_name
  assume_role_policy   = data.aws_iam_policy_document.assume["lambda"].json
  permissions_boundary = var.settings.permissions_boundary_arn
  tags                 = local.tags
}

resource "aws_iam_role_policy" "function" {
  name   = local.function_name
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.runtime.json
}

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.settings.log_retention_days
  kms_key_id        = var.settings.kms_key_arn
  tags              = local.tags
}

# Asynchronous invocations (a schedule, an EventBridge rule) that failed every retry.
module "dead_letters" {
  source = "../queue"

  name                     = local.function_name
  kms_key_arn              = var.settings.kms_key_arn
  alarm_topic_arn          = var.settings.alarm_topic_arn
  tags                     = local.tags
  dead_letters_description = "Events for ${local.function_name} landed in its dead-letter queue ${local.function_name}-dlq."
}

resource "aws_lambda_function" "this" {
  function_name                  = local.function_name
  description                    = var.description
  role                           = aws_iam_role.function.arn
  filename                       = local.package_path
  source_code_hash               = filebase64sha256(local.package_path)
  handler                        = "${var.function_key}.handler.lambda_handler"
  runtime                        = var.settings.runtime
  architectures                  = [var.settings.architecture]
  timeout                        = var.timeout
  memory_size                    = var.memory_size
  kms_key_arn                    = var.settings.kms_key_arn
  reserved_concurrent_executions = var.reserved_concurrent_executions
  tags                           = local.tags

  environment {
    variables = local.environment
  }

  dead_letter_config {
    target_arn = module.dead_letters.arn
  }

  tracing_config {
    mode = "PassThrough"
  }

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

# Stated rather than left to Lambda's default of two retries for asynchronous invocations.
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.async_retries
  maximum_event_age_in_seconds = 3600
}

# The function's errors; its queues carry their own alarms (modules/queue).
module "alarms" {
  source = "../metric-alarms"

  name      = local.function_name
  topic_arn = var.settings.alarm_topic_arn
  tags      = local.tags
  alarms = {
    errors = {
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.this.function_name }
      description = "SG Watch function ${local.function_name} reported errors; see its log group."
    }
  }
}

moved {
  from = aws_cloudwatch_metric_alarm.errors
  to   = module.alarms.aws_cloudwatch_metric_alarm.this["errors"]
}

moved {
  from = aws_cloudwatch_metric_alarm.queues
  to   = module.alarms.aws_cloudwatch_metric_alarm.this
}

moved {
  from = aws_cloudwatch_metric_alarm.dead_letters
  to   = module.alarms.aws_cloudwatch_metric_alarm.this["dead-letters"]
}

moved {
  from = module.alarms.aws_cloudwatch_metric_alarm.this["dead-letters"]
  to   = module.dead_letters.module.alarms.aws_cloudwatch_metric_alarm.this["dead-letters"]
}

moved {
  from = aws_sqs_queue.dlq
  to   = module.dead_letters.aws_sqs_queue.dead_letters
}
