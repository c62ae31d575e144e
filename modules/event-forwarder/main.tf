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

  # Inline, not read from ../sg-change-alerts/event-pattern.json: this module is deployed on its own
  # in member accounts, and Terraform copies only this directory when it is sourced by an absolute
  # path (or by a subdirectory-only package). tests/module/test_organization.py checks that the
  # deployed pattern equals modules/sg-change-alerts/event-pattern.json.
  default_event_pattern = jsonencode({
    source        = ["aws.ec2"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = {
      eventSource = ["ec2.amazonaws.com"]
      eventName = [
        "CreateSecurityGroup",
        "DeleteSecurityGroup",
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress",
        "ModifySecurityGroupRules",
        "UpdateSecurityGroupRuleDescriptionsIngress",
        "UpdateSecurityGroupRuleDescriptionsEgress",
      ]
    }
  })
  event_pattern = coalesce(var.event_pattern, local.default_event_pattern)
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

resource "aws_sqs_queue" "dlq" {
  name                              = "${local.rule_name}-dlq"
  kms_master_key_id                 = var.dlq_kms_key_arn
  kms_data_key_reuse_period_seconds = var.dlq_kms_key_arn == null ? null : 3600
  sqs_managed_sse_enabled           = var.dlq_kms_key_arn == null ? true : null
  message_retention_seconds         = var.dlq_message_retention_seconds
  tags                              = local.tags
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "${var.name_prefix}-sg-changes-forward-dead-letters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.forward.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.url
  policy    = data.aws_iam_policy_document.dlq.json
}

# --- the rule and its target ---------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "forward" {
  name           = local.rule_name
  description    = "SG Watch: forward security-group API calls (recorded by CloudTrail) to the central bus."
  event_bus_name = var.event_bus_name
  event_pattern  = local.event_pattern
  tags           = local.tags
}

resource "aws_cloudwatch_event_target" "central_bus" {
  rule           = aws_cloudwatch_event_rule.forward.name
  event_bus_name = var.event_bus_name
  target_id      = "sgwatch-central-bus"
  arn            = var.central_event_bus_arn
  role_arn       = aws_iam_role.forward.arn

  retry_policy {
    maximum_retry_attempts       = var.maximum_retry_attempts
    maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }

  depends_on = [aws_iam_role_policy.forward, aws_sqs_queue_policy.dlq]
}

# --- alarms: an event the central bus did not accept is a lost alert until someone looks -----------

# An event the central bus refused (e.g. its policy does not name this account) fails delivery after
# every retry and waits in the dead-letter queue, or is lost when it cannot be written there either.
module "alarms" {
  source = "../metric-alarms"

  name      = local.rule_name
  topic_arn = var.alarm_topic_arn
  tags      = local.tags
  alarms = {
    "dead-letters" = {
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.dlq.name }
      description = "Security-group changes of ${local.account_id}/${local.region} were not accepted by the central SG Watch bus and wait in ${aws_sqs_queue.dlq.name}: their alerts are missing. Check the central bus policy, then send them again."
    }
    "failed-deliveries" = {
      namespace   = "AWS/Events"
      metric      = "FailedInvocations"
      dimensions  = { RuleName = aws_cloudwatch_event_rule.forward.name }
      description = "Security-group changes of ${local.account_id}/${local.region} failed to reach the central SG Watch bus after every retry: they are in ${aws_sqs_queue.dlq.name}, or lost if they could not be written there (InvocationsFailedToBeSentToDlq). Check the central bus policy, the queue policy and key."
    }
  }
}
