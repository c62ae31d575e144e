# An EventBridge rule and its targets, the retries and dead-letter queue of its deliveries, and
# the alarm raised when a delivery failed for good: the shape of every SG Watch rule.

resource "aws_cloudwatch_event_rule" "this" {
  name           = var.name
  description    = var.description
  event_bus_name = var.event_bus_name
  event_pattern  = var.event_pattern
  tags           = var.tags
}

# The grants of var.target_grants, held only so the targets wait for them: they name the rule, so the
# caller cannot make the whole module depend on them. A delivery refused for want of a grant is not a
# retriable error: EventBridge does not retry it
# (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html).
resource "terraform_data" "target_grants" {
  input = var.target_grants
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = var.targets

  rule           = aws_cloudwatch_event_rule.this.name
  event_bus_name = var.event_bus_name
  target_id      = each.key
  arn            = each.value.arn
  role_arn       = each.value.role_arn

  dynamic "input_transformer" {
    for_each = each.value.input_transformer == null ? [] : [each.value.input_transformer]
    content {
      input_paths    = input_transformer.value.input_paths
      input_template = input_transformer.value.input_template
    }
  }

  retry_policy {
    maximum_retry_attempts       = var.maximum_retry_attempts
    maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
  }

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_arn == null ? [] : [var.dead_letter_arn]
    content {
      arn = dead_letter_config.value
    }
  }

  depends_on = [terraform_data.target_grants]
}

locals {
  # "Metrics that specify only the RuleName dimension refer to the default event bus. Metrics that
  # specify both the EventBusName and RuleName dimensions refer to a custom event bus" (Monitoring
  # Amazon EventBridge, EventBridge user guide): an alarm on a custom bus's rule without EventBusName
  # watches a metric that never has data. The bus may be given by name or ARN; the dimension is its name.
  bus_name = reverse(split("/", var.event_bus_name))[0]
  rule_dimensions = merge(
    { RuleName = aws_cloudwatch_event_rule.this.name },
    local.bus_name == "default" ? {} : { EventBusName = local.bus_name },
  )
}

module "alarms" {
  source = "../metric-alarms"

  name      = var.name
  topic_arn = var.alarm_topic_arn
  tags      = var.tags
  alarms = {
    "failed-deliveries" = {
      namespace   = "AWS/Events"
      metric      = "FailedInvocations"
      dimensions  = local.rule_dimensions
      description = var.failed_deliveries_description
    }
  }
}
