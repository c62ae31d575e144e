data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  function_name = "${var.name_prefix}-${replace(var.function_key, "_", "-")}"
  package_path  = "${path.module}/../../functions/dist/${var.function_key}.zip"
  account_id    = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.name
  log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.function_name}"
  tags          = merge(var.settings.tags, { "sgwatch:function" = var.function_key })
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
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
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.settings.permissions_boundary_arn
  tags                 = local.tags
}

data "aws_iam_policy_document" "runtime" {
  source_policy_documents = [var.policy_json]

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  dynamic "statement" {
    for_each = local.work_queue ? [1] : []
    content {
      sid       = "QueueWork"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.work[0].arn]
    }
  }

  dynamic "statement" {
    for_each = local.work_queue ? [1] : []
    content {
      # What the event source mapping does with the function's role.
      sid       = "ReceiveWork"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [aws_sqs_queue.work[0].arn]
    }
  }

  statement {
    sid       = "ModuleKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.settings.kms_key_arn]
  }
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

resource "aws_sqs_queue" "dlq" {
  name                              = "${local.function_name}-dlq"
  kms_master_key_id                 = var.settings.kms_key_arn
  kms_data_key_reuse_period_seconds = 3600
  message_retention_seconds         = 1209600
  tags                              = local.tags
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
    variables = merge(var.environment, local.work_queue ? { WORK_QUEUE_URL = aws_sqs_queue.work[0].url } : {})
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
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

# Alarms: the function's errors, its dead letters, and with a work queue that queue's dead letters
# and a backlog older than a day (the fan-out not keeping up with the schedule).
module "alarms" {
  source = "../metric-alarms"

  name      = local.function_name
  topic_arn = var.settings.alarm_topic_arn
  tags      = local.tags
  alarms = merge(
    {
      errors = {
        namespace   = "AWS/Lambda"
        metric      = "Errors"
        dimensions  = { FunctionName = aws_lambda_function.this.function_name }
        description = "SG Watch function ${local.function_name} reported errors; see its log group."
      }
    },
    {
      "dead-letters" = {
        namespace   = "AWS/SQS"
        metric      = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = aws_sqs_queue.dlq.name }
        statistic   = "Maximum"
        threshold   = 1
        description = "Events for ${local.function_name} landed in its dead-letter queue ${aws_sqs_queue.dlq.name}."
      }
    },
    local.work_queue ? {
      "work-dead-letters" = {
        namespace   = "AWS/SQS"
        metric      = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = aws_sqs_queue.work_dead_letters[0].name }
        statistic   = "Maximum"
        threshold   = 1
        description = "Units of work of ${local.function_name} failed ${var.work_queue.max_receive_count} times and are kept in ${aws_sqs_queue.work_dead_letters[0].name}; see the function's log group, then redrive them."
      }
      "work-backlog" = {
        namespace   = "AWS/SQS"
        metric      = "ApproximateAgeOfOldestMessage"
        dimensions  = { QueueName = aws_sqs_queue.work[0].name }
        statistic   = "Maximum"
        threshold   = 86400
        description = "Units of work of ${local.function_name} wait in ${aws_sqs_queue.work[0].name} for more than a day: raise the fan-out's maximum concurrency."
      }
    } : {}
  )
}

moved {
  from = aws_cloudwatch_metric_alarm.dead_letters
  to   = module.alarms.aws_cloudwatch_metric_alarm.this["dead-letters"]
}

moved {
  from = aws_cloudwatch_metric_alarm.errors
  to   = module.alarms.aws_cloudwatch_metric_alarm.this["errors"]
}

moved {
  from = aws_cloudwatch_metric_alarm.queues
  to   = module.alarms.aws_cloudwatch_metric_alarm.this
}
