# The queues whose messages invoke the function. The optional fan-out (accounts.fan_out): the
# scheduled run queues its units of work in the work queue and the event source mapping runs the
# same function on batches of them (see functions/sgwatch/fanout.py). And an optional event queue
# another module feeds (event_queue).

locals {
  work_queue           = try(var.accounts.fan_out, false) || var.fan_out != null
  work_max_concurrency = var.fan_out != null ? var.fan_out.max_concurrency : try(var.accounts.fan_out_max_concurrency, null)
  # A unit of work that failed this many receives waits in the work dead-letter queue for a redrive.
  work_max_receive_count = 5

  # The queues whose messages invoke the function, by key: the work queue and the given event queue.
  queue_sources = merge(
    local.work_queue ? {
      work = { arn = module.work_queue[0].arn, batch_size = 10, batching_window_seconds = null, maximum_concurrency = local.work_max_concurrency }
    } : {},
    var.event_queue == null ? {} : { events = var.event_queue },
  )
}

module "work_queue" {
  source = "../queue"
  count  = local.work_queue ? 1 : 0

  name            = "${local.function_name}-work"
  kms_key_arn     = var.settings.kms_key_arn
  alarm_topic_arn = var.settings.alarm_topic_arn
  tags            = local.tags
  source_queue = {
    # Lambda's guidance for SQS sources: a visibility timeout of at least six times the function timeout.
    visibility_timeout_seconds = min(6 * var.timeout, 43200)
    # 14 days: a backlog alarms after one day, long before any unit of work could expire unseen.
    message_retention_seconds = 1209600
    max_receive_count         = local.work_max_receive_count
    backlog_alarm_seconds     = 86400
    backlog_description       = "Units of work of ${local.function_name} wait in ${local.function_name}-work for more than a day: raise the fan-out's maximum concurrency."
  }
  dead_letters_description = "Units of work of ${local.function_name} failed ${local.work_max_receive_count} times and are kept in ${local.function_name}-work-dlq; see the function's log group, then redrive them."
}

resource "aws_lambda_event_source_mapping" "queue" {
  for_each = local.queue_sources

  event_source_arn                   = each.value.arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = each.value.maximum_concurrency
  }

  # Lambda checks at creation that the role may receive from the queue.
  depends_on = [aws_iam_role_policy.function]
}

moved {
  from = aws_lambda_event_source_mapping.work[0]
  to   = aws_lambda_event_source_mapping.queue["work"]
}

moved {
  from = aws_sqs_queue.work[0]
  to   = module.work_queue[0].aws_sqs_queue.this[0]
}

moved {
  from = aws_sqs_queue.work_dead_letters[0]
  to   = module.work_queue[0].aws_sqs_queue.dead_letters
}

moved {
  from = module.alarms.aws_cloudwatch_metric_alarm.this["work-dead-letters"]
  to   = module.work_queue[0].module.alarms.aws_cloudwatch_metric_alarm.this["dead-letters"]
}

moved {
  from = module.alarms.aws_cloudwatch_metric_alarm.this["work-backlog"]
  to   = module.work_queue[0].module.alarms.aws_cloudwatch_metric_alarm.this["backlog"]
}
