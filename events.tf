# Central event bus: security-group events forwarded from member accounts and other regions
# (modules/event-forwarder) arrive here; the change alerts and the reachability guard listen on it.

locals {
  event_bus_name = var.create_event_bus ? aws_cloudwatch_event_bus.central[0].name : "default"
  event_bus_arn  = var.create_event_bus ? aws_cloudwatch_event_bus.central[0].arn : "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default"
  bus_policy     = var.create_event_bus && (var.organization_id != null || length(var.event_bus_source_accounts) > 0)
}

resource "aws_cloudwatch_event_bus" "central" {
  count = var.create_event_bus ? 1 : 0

  name = "${var.name_prefix}-security-groups"
  tags = var.tags
}

data "aws_iam_policy_document" "event_bus" {
  count = local.bus_policy ? 1 : 0

  # The accounts of the organisation, and the listed ones, put events on the bus.
  dynamic "statement" {
    for_each = concat(
      var.organization_id == null ? [] : [{ sid = "OrganizationAccountsPutEvents", principals = ["*"], organization_ids = [var.organization_id] }],
      length(var.event_bus_source_accounts) == 0 ? [] : [{
        sid              = "ListedAccountsPutEvents"
        principals       = [for a in var.event_bus_source_accounts : "arn:${local.partition}:iam::${a}:root"]
        organization_ids = []
      }],
    )
    content {
      sid       = statement.value.sid
      actions   = ["events:PutEvents"]
      resources = [aws_cloudwatch_event_bus.central[0].arn]
      principals {
        type        = "AWS"
        identifiers = statement.value.principals
      }
      dynamic "condition" {
        for_each = statement.value.organization_ids
        content {
          test     = "StringEquals"
          variable = "aws:PrincipalOrgID"
          values   = [condition.value]
        }
      }
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "central" {
  count = local.bus_policy ? 1 : 0

  event_bus_name = aws_cloudwatch_event_bus.central[0].name
  policy         = data.aws_iam_policy_document.event_bus[0].json
}

# This account's own changes reach the central bus like everyone else's.
module "own_events_forwarder" {
  source = "./modules/event-forwarder"
  count  = var.create_event_bus ? 1 : 0

  name_prefix              = var.name_prefix
  central_event_bus_arn    = aws_cloudwatch_event_bus.central[0].arn
  event_pattern            = local.sg_change_event_pattern
  dlq_kms_key_arn          = local.kms_key_arn
  alarm_topic_arn          = local.alert_topic_arn
  permissions_boundary_arn = var.permissions_boundary_arn
  tags                     = var.tags
}
