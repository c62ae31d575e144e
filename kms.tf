locals {
  create_kms_key = var.kms_key_arn == null
  created_key    = one(aws_kms_key.this)
  kms_key_arn    = local.create_kms_key ? local.created_key.arn : var.kms_key_arn
}

data "aws_iam_policy_document" "kms" {
  count = local.create_kms_key ? 1 : 0

  statement {
    sid = "AccountAdministersKeyThroughIam"
    # The standard root statement: key use is then governed by IAM policies.
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsOfThisModule"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:DescribeKey",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.${data.aws_partition.current.dns_suffix}"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}-*"]
    }
  }

  # EventBridge (rule targets and dead-letter queues) and CloudWatch (alarm actions) write to the
  # module's encrypted topic and queues. The SNS developer guide ("Enable compatibility between event
  # sources from AWS services and encrypted topics") states that aws:SourceAccount, aws:SourceArn and
  # aws:SourceOrgID are not supported in a key policy for EventBridge-to-encrypted-topic delivery: such
  # a condition makes every publish fail. The grants are therefore scoped by the encryption context
  # SNS and SQS always send (aws:sns:topicArn, aws:sqs:arn) to this module's own resources.
  # SNS and EventBridge Scheduler never appear: SNS uses the publisher's grant, a schedule its role.
  dynamic "statement" {
    for_each = {
      EventBridgeAndCloudWatchPublishToTheTopic = {
        services = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
        context  = "aws:sns:topicArn"
        arns     = "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.name_prefix}-*"
      }
      EventBridgeSendsToTheQueues = {
        services = ["events.amazonaws.com"]
        context  = "aws:sqs:arn"
        arns     = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${var.name_prefix}-*"
      }
    }
    content {
      sid       = statement.key
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = statement.value.services
      }
      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:${statement.value.context}"
        values   = [statement.value.arns]
      }
    }
  }
}

# Every SSE-KMS evidence object becomes unreadable once the key is gone. As for the evidence bucket
# (modules/evidence-bucket), destroy protection is a guard with prevent_destroy beside the key, replaced
# whenever the key would be: the key keeps one address whatever evidence_destroy_protection says, so
# flipping the setting never plans the key's deletion.
resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "SG Watch (${var.name_prefix}): evidence, logs, queues, alerts and secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms[0].json
  tags                    = var.tags
}

resource "terraform_data" "key_destroy_protection" {
  count = local.create_kms_key && var.evidence_destroy_protection ? 1 : 0

  triggers_replace = aws_kms_key.this[0].arn

  lifecycle {
    prevent_destroy = true
  }
}

# 1.0.x created the key as `unprotected[0]` when evidence_destroy_protection was false.
moved {
  from = aws_kms_key.unprotected[0]
  to   = aws_kms_key.this[0]
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.name_prefix}"
  target_key_id = local.created_key.key_id
}

# --- the key guard: an alert when someone disables the key or schedules its deletion ------------

# The alert cannot travel through anything the key encrypts: a disabled key, or one pending
# deletion, cannot encrypt an SNS message, a queue message or a function's environment. So the
# guard publishes to a topic of its own without KMS; its messages carry only the key ARN, the
# API call and who made it. EventBridge cannot publish to a topic under the AWS managed key
# alias/aws/sns, which leaves no key that does not depend on the one being guarded.
resource "aws_sns_topic" "key_guard" {
  #checkov:skip=CKV_AWS_26:The alert that the module key is being disabled or deleted cannot be encrypted with that key; it carries no evidence.
  count = local.create_kms_key ? 1 : 0

  name = "${var.name_prefix}-key-guard"
  tags = var.tags
}

data "aws_iam_policy_document" "key_guard" {
  count = local.create_kms_key ? 1 : 0

  statement {
    sid       = "AccountManagesTopic"
    actions   = ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic"]
    resources = [aws_sns_topic.key_guard[0].arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # Publishers: the guard rule, and the alarm on its deliveries.
  dynamic "statement" {
    for_each = [
      { sid = "TheGuardRulePublishes", service = "events.amazonaws.com", test = "ArnEquals", variable = "aws:SourceArn", value = module.key_guard_rule[0].arn },
      { sid = "ItsAlarmPublishes", service = "cloudwatch.amazonaws.com", test = "StringEquals", variable = "aws:SourceAccount", value = local.account_id },
    ]
    content {
      sid       = statement.value.sid
      actions   = ["sns:Publish"]
      resources = [aws_sns_topic.key_guard[0].arn]
      principals {
        type        = "Service"
        identifiers = [statement.value.service]
      }
      condition {
        test     = statement.value.test
        variable = statement.value.variable
        values   = [statement.value.value]
      }
    }
  }
}

resource "aws_sns_topic_policy" "key_guard" {
  count = local.create_kms_key ? 1 : 0

  arn    = aws_sns_topic.key_guard[0].arn
  policy = data.aws_iam_policy_document.key_guard[0].json
}

resource "aws_sns_topic_subscription" "key_guard" {
  for_each = local.create_kms_key ? toset(var.alert_emails) : toset([])

  topic_arn = aws_sns_topic.key_guard[0].arn
  protocol  = "email"
  endpoint  = each.value
}

# The rule on the two calls, its target (the guard topic) and the alarm on deliveries that failed
# after every retry (modules/event-rule, the shape of every SG Watch rule).
module "key_guard_rule" {
  source = "./modules/event-rule"
  count  = local.create_kms_key ? 1 : 0

  name        = "${var.name_prefix}-key-guard"
  description = "SG Watch: the module key that decrypts the evidence is being disabled or deleted."
  event_pattern = jsonencode({
    source        = ["aws.kms"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = {
      eventSource = ["kms.amazonaws.com"]
      eventName   = ["ScheduleKeyDeletion", "DisableKey"]
      # Both calls take the key by id or ARN (no alias), so these two values name the key exactly.
      requestParameters = { keyId = [local.created_key.key_id, local.created_key.arn] }
    }
  })
  targets = {
    key-guard-topic = {
      arn = aws_sns_topic.key_guard[0].arn
      input_transformer = {
        input_paths = {
          event   = "$.detail.eventName"
          key     = "$.detail.responseElements.keyId"
          actor   = "$.detail.userIdentity.arn"
          time    = "$.detail.eventTime"
          account = "$.account"
          region  = "$.region"
        }
        input_template = <<-EOT
          {
            "alert": "SG Watch: the KMS key that decrypts the security-group evidence is being disabled or deleted. Every evidence object becomes unreadable when it is gone: cancel the deletion (kms cancel-key-deletion) or enable the key.",
            "event": <event>,
            "key": <key>,
            "actor": <actor>,
            "time": <time>,
            "account": <account>,
            "region": <region>
          }
        EOT
      }
    }
  }
  target_grants                 = [aws_sns_topic_policy.key_guard[0].id]
  alarm_topic_arn               = aws_sns_topic.key_guard[0].arn
  failed_deliveries_description = "The SG Watch key guard could not deliver an alert that the module key is being disabled or deleted: check the key's state now."
  tags                          = var.tags
}

moved {
  from = aws_cloudwatch_event_rule.key_guard[0]
  to   = module.key_guard_rule[0].aws_cloudwatch_event_rule.this
}

moved {
  from = aws_cloudwatch_event_target.key_guard[0]
  to   = module.key_guard_rule[0].aws_cloudwatch_event_target.this["key-guard-topic"]
}

moved {
  from = module.key_guard_alarm[0]
  to   = module.key_guard_rule[0].module.alarms
}
