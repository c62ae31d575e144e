# Forwards the security-group API calls CloudTrail records in one account and region to the
# central SG Watch event bus (another account and/or region). EventBridge keeps the original
# `account` and `region` of each event, so the central functions know where a change happened.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  rule_name = "${var.name_prefix}-sg-changes-forward"
  # Computed rather than read from the rule, so the role's trust can name the rule without a cycle.
  rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.event_bus_name == "default" ? "" : "${var.event_bus_name}/"}${local.rule_name}"
  # IAM is global: one role per region of the account.
  role_name = "${var.name_prefix}-sg-forward-${local.region}"
  tags      = merge(var.tags, { "sgwatch:capability" = "event-forwarder" })

  # The pattern of the central change alerts (one file, also read by modules/organization-members'
  # StackSet template). Normalised by jsonencode, as the root module does, so equal patterns are
  # equal strings.
  default_event_pattern = jsonencode(jsondecode(file("${path.module}/../sg-change-alerts/event-pattern.json")))
  event_pattern         = coalesce(var.event_pattern, local.default_event_pattern)
}

# --- the role EventBridge uses to put events on the central bus ----------------------------------

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.rule_arn]
    }
  }
}

resource "aws_iam_role" "forward" {
  name                 = local.role_name
  description          = "SG Watch: EventBridge forwards security-group changes of ${local.region} to the central bus"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = local.tags
}

data "aws_iam_policy_document" "forward" {
  statement {
    sid       = "PutEventsOnTheCentralBus"
    actions   = ["events:PutEvents"]
    resources = [var.central_event_bus_arn]
  }
}

resource "aws_iam_role_policy" "forward" {
  name   = local.role_name
  role   = aws_iam_role.forward.id
  policy = data.aws_iam_policy_document.forward.json
}

# --- the dead-letter queue: events the central bus did not accept --------------------------------

# An event the central bus refused (e.g. its policy does not name this account) fails delivery after
# every retry and waits here, or is lost when it cannot be written here either.
module "dlq" {
  source = "../queue"

  name                          = local.rule_name
  kms_key_arn                   = var.dlq_kms_key_arn
  dead_letter_retention_seconds = var.dlq_message_retention_seconds
  event_rule_arns               = [module.rule.arn]
  alarm_topic_arn               = var.alarm_topic_arn
  tags                          = local.tags
  dead_letters_description      = "Security-group changes of ${local.account_id}/${local.region} were not accepted by the central SG Watch bus and wait in ${local.rule_name}-dlq: their alerts are missing. Check the central bus policy, then send them again."
}

moved {
  from = aws_sqs_queue.dlq
  to   = module.dlq.aws_sqs_queue.dead_letters
}

moved {
  from = aws_sqs_queue_policy.dlq
  to   = module.dlq.aws_sqs_queue_policy.event_rule["dead_letters"]
}

moved {
  from = module.alarms.aws_cloudwatch_metric_alarm.this["dead-letters"]
  to   = module.dlq.module.alarms.aws_cloudwatch_metric_alarm.this["dead-letters"]
}

# --- the rule, its target and the alarm: a delivery that failed for good is a lost alert ------------

module "rule" {
  source = "../event-rule"

  name           = local.rule_name
  description    = "SG Watch: forward security-group API calls (recorded by CloudTrail) to the central bus."
  event_bus_name = var.event_bus_name
  event_pattern  = local.event_pattern
  tags           = local.tags
  targets = {
    "sgwatch-central-bus" = { arn = var.central_event_bus_arn, role_arn = aws_iam_role.forward.arn }
  }
  # The dead-letter queue's ARN comes once its policy lets the rule send (modules/queue).
  target_grants                 = [aws_iam_role_policy.forward.id]
  dead_letter_arn               = module.dlq.arn
  maximum_retry_attempts        = var.maximum_retry_attempts
  maximum_event_age_in_seconds  = var.maximum_event_age_in_seconds
  alarm_topic_arn               = var.alarm_topic_arn
  failed_deliveries_description = "Security-group changes of ${local.account_id}/${local.region} failed to reach the central SG Watch bus after every retry: they are in ${module.dlq.name}, or lost if they could not be written there (InvocationsFailedToBeSentToDlq). Check the central bus policy, the queue policy and key."
}

moved {
  from = aws_cloudwatch_event_rule.forward
  to   = module.rule.aws_cloudwatch_event_rule.this
}

moved {
  from = aws_cloudwatch_event_target.central_bus
  to   = module.rule.aws_cloudwatch_event_target.this["sgwatch-central-bus"]
}

moved {
  from = module.alarms.aws_cloudwatch_metric_alarm.this["failed-deliveries"]
  to   = module.rule.module.alarms.aws_cloudwatch_metric_alarm.this["failed-deliveries"]
}
