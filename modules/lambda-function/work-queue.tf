# Optional fan-out: the scheduled run queues its units of work here and the event source
# mapping runs the same function on batches of them (see functions/sgwatch/fanout.py).

locals {
  work_queue = var.work_queue != null
  # Lambda's guidance for SQS sources: a visibility timeout of at least six times the function timeout.
  work_visibility_timeout = min(6 * var.timeout, 43200)
}

resource "aws_sqs_queue" "work_dead_letters" {
  count = local.work_queue ? 1 : 0

  name                              = "${local.function_name}-work-dlq"
  kms_master_key_id                 = var.settings.kms_key_arn
  kms_data_key_reuse_period_seconds = 3600
  message_retention_seconds         = 1209600
  tags                              = local.tags
}

resource "aws_sqs_queue" "work" {
  count = local.work_queue ? 1 : 0

  name                              = "${local.function_name}-work"
  kms_master_key_id                 = var.settings.kms_key_arn
  kms_data_key_reuse_period_seconds = 3600
  visibility_timeout_seconds        = local.work_visibility_timeout
  # 14 days: a backlog alarms after one day, long before any unit of work could expire unseen.
  message_retention_seconds = 1209600
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.work_dead_letters[0].arn
    maxReceiveCount     = var.work_queue.max_receive_count
  })
  tags = local.tags
}

resource "aws_lambda_event_source_mapping" "work" {
  count = local.work_queue ? 1 : 0

  event_source_arn        = aws_sqs_queue.work[0].arn
  function_name           = aws_lambda_function.this.arn
  batch_size              = var.work_queue.batch_size
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.work_queue.max_concurrency
  }

  # Lambda checks at creation that the role may receive from the queue.
  depends_on = [aws_iam_role_policy.function]
}
