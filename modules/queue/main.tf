# An encrypted queue with its dead-letter queue, or a dead-letter queue on its own, and the alarms
# that say something waits there: the shape of every SG Watch queue.

locals {
  has_source = var.source_queue != null
  sse_sqs    = var.kms_key_arn == null
  queues = merge(
    { dead_letters = aws_sqs_queue.dead_letters.arn },
    local.has_source ? { source = aws_sqs_queue.this[0].arn } : {},
  )
}

resource "aws_sqs_queue" "dead_letters" {
  name                              = "${var.name}-dlq"
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.sse_sqs ? null : 3600
  sqs_managed_sse_enabled           = local.sse_sqs ? true : null
  message_retention_seconds         = var.dead_letter_retention_seconds
  tags                              = var.tags
}

resource "aws_sqs_queue" "this" {
  count = local.has_source ? 1 : 0

  name                              = var.name
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.sse_sqs ? null : 3600
  sqs_managed_sse_enabled           = local.sse_sqs ? true : null
  message_retention_seconds         = var.source_queue.message_retention_seconds
  visibility_timeout_seconds        = var.source_queue.visibility_timeout_seconds
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letters.arn
    maxReceiveCount     = var.source_queue.max_receive_count
  })
  tags = var.tags
}

data "aws_iam_policy_document" "event_rule" {
  for_each = length(var.event_rule_arns) == 0 ? {} : local.queues

  statement {
    sid       = "EventBridgeRuleSends"
    actions   = ["sqs:SendMessage"]
    resources = [each.value]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = var.event_rule_arns
    }
  }
}

resource "aws_sqs_queue_policy" "event_rule" {
  for_each = data.aws_iam_policy_document.event_rule

  queue_url = each.key == "source" ? aws_sqs_queue.this[0].url : aws_sqs_queue.dead_letters.url
  policy    = each.value.json
}

module "alarms" {
  source = "../metric-alarms"

  name      = var.name
  topic_arn = var.alarm_topic_arn
  tags      = var.tags
  alarms = merge(
    {
      "dead-letters" = {
        namespace   = "AWS/SQS"
        metric      = "ApproximateNumberOfMessagesVisible"
        dimensions  = { QueueName = aws_sqs_queue.dead_letters.name }
        statistic   = "Maximum"
        description = var.dead_letters_description
      }
    },
    try(var.source_queue.backlog_alarm_seconds, null) == null ? {} : {
      backlog = {
        namespace   = "AWS/SQS"
        metric      = "ApproximateAgeOfOldestMessage"
        dimensions  = { QueueName = aws_sqs_queue.this[0].name }
        statistic   = "Maximum"
        threshold   = var.source_queue.backlog_alarm_seconds
        description = var.source_queue.backlog_description
      }
    },
  )
}
