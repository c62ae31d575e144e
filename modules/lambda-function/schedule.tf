resource "aws_iam_role" "scheduler" {
  count = var.schedule == null ? 0 : 1

  name                 = "${local.function_name}-scheduler"
  assume_role_policy   = data.aws_iam_policy_document.assume["scheduler"].json
  permissions_boundary = var.settings.permissions_boundary_arn
  tags                 = local.tags
}

data "aws_iam_policy_document" "scheduler" {
  count = var.schedule == null ? 0 : 1

  statement {
    sid       = "InvokeOnlyThisFunction"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this.arn]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [module.dead_letters.arn]
  }

  statement {
    sid       = "DeadLetterQueueKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.settings.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count = var.schedule == null ? 0 : 1

  name   = "${local.function_name}-scheduler"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler[0].json
}

resource "aws_scheduler_schedule" "this" {
  count = var.schedule == null ? 0 : 1

  name                         = local.function_name
  description                  = "Runs ${local.function_name} (SG Watch)."
  schedule_expression          = var.schedule.expression
  schedule_expression_timezone = var.schedule.timezone
  kms_key_arn                  = var.settings.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this.arn
    role_arn = aws_iam_role.scheduler[0].arn
    input    = var.schedule.input

    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 3600
    }

    dead_letter_config {
      arn = module.dead_letters.arn
    }
  }
}
