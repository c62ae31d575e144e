locals {
  capability    = "sg-change-alerts"
  use_lambda    = var.mode == "lambda"
  use_slack     = coalesce(var.slack_enabled, var.slack != null)
  event_pattern = coalesce(var.event_pattern, file("${path.module}/event-pattern.json"))
  rule_name     = "${var.name_prefix}-sg-changes"
  tags          = merge(try(var.lambda_settings.tags, {}), { "sgwatch:capability" = local.capability })
  dlq_arn       = local.use_lambda ? module.function[0].dlq_arn : module.direct_dlq[0].arn
  dlq_url       = local.use_lambda ? module.function[0].dlq_url : module.direct_dlq[0].url
  # Remediation reaches the notifier in approve mode with Slack (the buttons) and always in auto mode.
  remediation_on = var.remediation != null && (local.use_slack || try(var.remediation.mode, "") == "auto")
  auto_revert    = local.remediation_on && try(var.remediation.mode, "") == "auto"
  # Auto mode in member accounts: their remediation role, and no other (the listed accounts', or any account's of
  # the organisation when the accounts come from Organizations).
  revert_listed       = [for a in(local.auto_revert && var.accounts != null ? [var.accounts] : []) : a.ids if length(try(a.ids, [])) > 0]
  revert_organization = [for a in(local.auto_revert && var.accounts != null ? [var.accounts] : []) : a if try(a.from_organizations, false)]
  revert_in_members   = length(local.revert_listed) + length(local.revert_organization) > 0
}

# --- the function (default mode) ---------------------------------------------------------------

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [var.alert_topic_arn]
  }

  statement {
    sid = "DescribeGroupRules"
    # Describe calls have no resource-level permissions.
    actions   = ["ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups"]
    resources = ["*"]
  }

  statement {
    sid = "DescribeExposure"
    # The changed group's exposure at alert time (functions/sgwatch/exposure.py IAM_ACTIONS): which
    # interfaces carry it, their subnets' routes, the load balancers (ELBv2 and Classic) and their
    # listeners, and the prefix lists its rules name. Describe calls without resource-level permissions.
    actions = [
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeRouteTables",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeListeners",
      "ec2:DescribeManagedPrefixLists",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ReadPrefixListEntries"
    # The entries of a customer-managed prefix list the changed group's rules name (any owner: a list
    # can be shared with the account).
    actions   = ["ec2:GetManagedPrefixListEntries"]
    resources = ["arn:${data.aws_partition.current.partition}:ec2:*:*:prefix-list/*"]
  }

  # Auto mode: a qualifying change in the function's own account is reverted at alert time (the rule
  # revoked by its id, or a modified rule restored).
  dynamic "statement" {
    for_each = local.auto_revert ? [1] : []
    content {
      sid     = "RevertRules"
      actions = ["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:ModifySecurityGroupRules"]
      resources = [
        "arn:${data.aws_partition.current.partition}:ec2:*:${data.aws_caller_identity.current.account_id}:security-group/*",
        "arn:${data.aws_partition.current.partition}:ec2:*:${data.aws_caller_identity.current.account_id}:security-group-rule/*",
      ]
    }
  }

  # Auto mode: a member account's qualifying change is reverted through that account's remediation role
  # (modules/member-role), as the remediation function's Revert job does.
  dynamic "statement" {
    for_each = local.revert_listed
    content {
      sid       = "RevertInMemberAccounts"
      actions   = ["sts:AssumeRole"]
      resources = [for id in statement.value : "arn:${data.aws_partition.current.partition}:iam::${id}:role/${var.remediation_role_name}"]
    }
  }

  # ...or of any account of the organisation, and then only in its accounts when its id is known.
  dynamic "statement" {
    for_each = local.revert_organization
    content {
      sid       = "RevertInOrganizationMemberAccounts"
      actions   = ["sts:AssumeRole"]
      resources = ["arn:${data.aws_partition.current.partition}:iam::*:role/${var.remediation_role_name}"]
      dynamic "condition" {
        for_each = try(statement.value.organization_id, null) == null ? [] : [statement.value.organization_id]
        content {
          test     = "StringEquals"
          variable = "aws:ResourceOrgID"
          values   = [condition.value]
        }
      }
    }
  }
}

module "function" {
  source = "../lambda-function"
  count  = local.use_lambda ? 1 : 0

  name_prefix  = var.name_prefix
  capability   = local.capability
  function_key = "sg_change_alerts"
  deployed_key = "sg_change_notifier"
  description  = "SG Watch: real-time alert (before/after, severity, Slack) for each security-group change."
  settings     = var.lambda_settings
  policy_json  = data.aws_iam_policy_document.function.json
  timeout      = 60
  memory_size  = 256
  # An alert is published once per event (an exactly-once marker in the evidence bucket), so
  # retrying a failed delivery cannot send it twice.
  async_retries = 2
  slack         = local.use_slack ? var.slack : null
  # A member account's forwarded event is described through its member role (tags, exposure).
  accounts = var.accounts

  # Finds event records and group states; writes only its own key kinds: event records, group
  # states, the group-name index and, in auto mode, each automatic revert's remediation record.
  evidence = var.evidence == null ? null : merge(var.evidence, {
    write = [for key in ["*/events/*", "*/group-state/*", "*/group-names/*", "*/remediation/*"] : key
    if local.auto_revert || key != "*/remediation/*"]
  })

  authorized_public_ports = var.authorized_public_ports

  environment = merge(!local.remediation_on ? {} : {
    REMEDIATION_MODE             = var.remediation.mode
    REMEDIATION_MIN_SEVERITY     = var.remediation.min_severity
    REMEDIATION_ONLY_OUT_OF_BAND = tostring(var.remediation.only_out_of_band)
    }, !local.revert_in_members ? {} : {
    REMEDIATION_ROLE_NAME = var.remediation_role_name
    }, {
    ALERT_TOPIC_ARN            = var.alert_topic_arn
    APPROVED_CHANGE_PRINCIPALS = join(",", var.approved_change_principals)
    IAC_MANAGED_TAG_KEYS       = join(",", var.iac_managed_tag_keys)
    RULE_REVIEW_TAG_KEYS       = jsonencode(var.justification_tag_keys)
    PRIVATE_PEERS_JUSTIFIED    = tostring(var.justify_private_peers)
  })
}

resource "aws_lambda_permission" "events" {
  count = local.use_lambda ? 1 : 0

  statement_id  = "${var.name_prefix}-sg-changes-events"
  action        = "lambda:InvokeFunction"
  function_name = module.function[0].function_name
  principal     = "events.amazonaws.com"
  source_arn    = module.rule.arn
}

# --- the dead-letter queue of the direct mode --------------------------------------------------

module "direct_dlq" {
  source = "../queue"
  count  = local.use_lambda ? 0 : 1

  name                     = local.rule_name
  kms_key_arn              = var.lambda_settings.kms_key_arn
  alarm_topic_arn          = try(var.lambda_settings.alarm_topic_arn, null)
  tags                     = local.tags
  dead_letters_description = "Security-group change events wait in ${local.rule_name}-dlq: the alert topic did not accept them (check its policy and KMS key)."
}

moved {
  from = aws_sqs_queue.direct_dlq[0]
  to   = module.direct_dlq[0].aws_sqs_queue.dead_letters
}

moved {
  from = module.alarms.aws_cloudwatch_metric_alarm.this["dead-letters"]
  to   = module.direct_dlq[0].module.alarms.aws_cloudwatch_metric_alarm.this["dead-letters"]
}

# EventBridge delivers undeliverable events to the target's DLQ; it needs the queue's consent.
data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "${var.name_prefix}-sg-changes-dead-letters"
    actions   = ["sqs:SendMessage"]
    resources = [local.dlq_arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [module.rule.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = local.dlq_url
  policy    = data.aws_iam_policy_document.dlq.json
}

# --- the rule: an event it could not deliver is a missing alert -------------------------------------

# Both modes' dead-letter queues have their own alarm (modules/queue).
module "rule" {
  source = "../event-rule"

  name           = local.rule_name
  description    = "SG Watch: security-group API calls recorded by CloudTrail (needs a trail recording management events)."
  event_bus_name = var.event_bus_name
  event_pattern  = local.event_pattern
  tags           = local.tags
  targets = {
    (local.use_lambda ? "sg-change-notifier" : "alert-topic") = {
      arn = local.use_lambda ? module.function[0].function_arn : var.alert_topic_arn
      input_transformer = local.use_lambda ? null : {
        input_paths = {
          event       = "$.detail.eventName"
          time        = "$.detail.eventTime"
          account     = "$.account"
          region      = "$.region"
          actor       = "$.detail.userIdentity.arn"
          source_ip   = "$.detail.sourceIPAddress"
          user_agent  = "$.detail.userAgent"
          error_code  = "$.detail.errorCode"
          error       = "$.detail.errorMessage"
          event_id    = "$.detail.eventID"
          request     = "$.detail.requestParameters"
          response    = "$.detail.responseElements"
          group_id    = "$.detail.requestParameters.groupId"
          created_id  = "$.detail.responseElements.groupId"
          modified_id = "$.detail.requestParameters.ModifySecurityGroupRulesRequest.GroupId"
        }
        # A JSON document: every value is inserted as JSON, so no user text can break out of it.
        input_template = <<-EOT
          {
            "alert": "SG Watch security-group change (direct mode: raw facts, no severity or before-state)",
            "event": <event>,
            "security_group": [<group_id>, <created_id>, <modified_id>],
            "account": <account>,
            "region": <region>,
            "time": <time>,
            "actor": <actor>,
            "source_ip": <source_ip>,
            "user_agent": <user_agent>,
            "error_code": <error_code>,
            "error_message": <error>,
            "event_id": <event_id>,
            "request": <request>,
            "response": <response>
          }
        EOT
      }
    }
  }
  target_grants                 = concat(aws_lambda_permission.events[*].id, [aws_sqs_queue_policy.dlq.id])
  dead_letter_arn               = local.dlq_arn
  maximum_retry_attempts        = var.maximum_retry_attempts
  maximum_event_age_in_seconds  = var.maximum_event_age_in_seconds
  alarm_topic_arn               = try(var.lambda_settings.alarm_topic_arn, null)
  failed_deliveries_description = "Security-group change events of rule ${local.rule_name} could not be delivered after every retry (function, topic or its KMS key refused them): the alerts are missing. They wait in ${local.dlq_url}."
}

moved {
  from = aws_cloudwatch_event_rule.changes
  to   = module.rule.aws_cloudwatch_event_rule.this
}

moved {
  from = aws_cloudwatch_event_target.function[0]
  to   = module.rule.aws_cloudwatch_event_target.this["sg-change-notifier"]
}

moved {
  from = aws_cloudwatch_event_target.topic[0]
  to   = module.rule.aws_cloudwatch_event_target.this["alert-topic"]
}

moved {
  from = module.alarms.aws_cloudwatch_metric_alarm.this["failed-deliveries"]
  to   = module.rule.module.alarms.aws_cloudwatch_metric_alarm.this["failed-deliveries"]
}
