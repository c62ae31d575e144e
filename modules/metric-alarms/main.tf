# One CloudWatch alarm per entry, each firing on a single datapoint at or over its threshold in five
# minutes: the shape of every SG Watch alarm (dead letters waiting, deliveries that failed for good,
# function errors, a backlog). Missing data is not a breach: no traffic is not a failure.
# The shape is an output too, for alarms written in CloudFormation (modules/organization-members).
locals {
  shape = {
    period              = 300
    evaluation_periods  = 1
    comparison_operator = "GreaterThanOrEqualToThreshold"
    treat_missing_data  = "notBreaching"
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = var.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = local.shape.period
  evaluation_periods  = local.shape.evaluation_periods
  threshold           = each.value.threshold
  comparison_operator = local.shape.comparison_operator
  treat_missing_data  = local.shape.treat_missing_data
  alarm_actions       = compact([var.topic_arn])
  tags                = var.tags
}
