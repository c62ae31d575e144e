locals {
  register = var.rule_review.register
}

data "aws_partition" "current" {}

# The rule review's register: one object, read with the function's own role (and its key, when given); the topic
# the expiry digest goes to.
data "aws_iam_policy_document" "function" {
  source_policy_documents = [module.read_permissions.policy_json]

  dynamic "statement" {
    for_each = local.register == null ? [] : [local.register]
    content {
      sid       = "ReadRuleReviewRegister"
      actions   = ["s3:GetObject"]
      resources = ["arn:${data.aws_partition.current.partition}:s3:::${statement.value.bucket}/${statement.value.key}"]
    }
  }

  dynamic "statement" {
    for_each = try(local.register.kms_key_arn, null) == null ? [] : [local.register.kms_key_arn]
    content {
      sid       = "DecryptRuleReviewRegister"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.alert_topic_arn == null ? [] : [var.alert_topic_arn]
    content {
      sid       = "AnnounceExpiringJustifications"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }
}

module "read_permissions" {
  source = "../read-permissions"

  include_unused_sg_audit = false
}

module "function" {
  source = "../lambda-function"

  name_prefix  = var.name_prefix
  capability   = "sg-inventory"
  function_key = "sg_inventory"
  description  = "SG Watch: snapshot every security-group rule to the evidence bucket, diff it, report exposure."
  settings     = var.lambda_settings
  # DescribeSecurityGroups and DescribeSecurityGroupRules, and the exposure reads (network interfaces,
  # route tables, load balancers), as the member accounts' role has them.
  policy_json = data.aws_iam_policy_document.function.json
  timeout     = 900
  memory_size = 512
  accounts    = merge(var.accounts, { regions = var.regions })
  slack       = var.slack

  # Reads the previous snapshots; writes only its own key kinds (never reviews/, events/ or
  # another capability's records).
  evidence = merge(var.evidence, { write = ["*/snapshots/*", "*/snapshot-groups/*", "*/diffs/*", "*/claims/*", "*/exposure/*", "*/rule-review/*", "*/expiry-notices/*"] })

  authorized_public_ports = var.authorized_public_ports
  environment = merge(
    {
      RULE_REVIEW_TAG_KEYS       = jsonencode(var.rule_review.tag_keys)
      JUSTIFICATION_WARNING_DAYS = tostring(var.rule_review.justification_warning_days)
      PRIVATE_PEERS_JUSTIFIED    = tostring(var.rule_review.justify_private_peers)
    },
    local.register == null ? {} : { RULE_REVIEW_REGISTER_BUCKET = local.register.bucket, RULE_REVIEW_REGISTER_KEY = local.register.key },
    var.alert_topic_arn == null ? {} : { ALERT_TOPIC_ARN = var.alert_topic_arn },
  )

  schedule = {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
  }
}
