locals {
  register = var.rule_review.register
  # The drift report's states read with the function's own role (those with a role_arn are read with that role).
  own_states     = [for l in var.iac_state_locations : l if l.role_arn == null]
  state_roles    = distinct([for l in var.iac_state_locations : l.role_arn if l.role_arn != null])
  state_keys     = sort(distinct(flatten([for l in local.own_states : l.key != null ? ["${l.bucket}/${l.key}", "${l.bucket}/env:/*/${l.key}"] : ["${l.bucket}/${l.prefix}*", "${l.bucket}/env:/*/${l.prefix}*"]])))
  state_kms_keys = sort(distinct([for l in local.own_states : l.kms_key_arn if l.kms_key_arn != null]))
  # ListObjectsV2 Prefix values, per bucket: a prefix location's prefix and the workspaces' env:/.
  state_listings = { for bucket in distinct([for l in local.own_states : l.bucket]) : bucket => sort(distinct(concat(["env:/"], [for l in local.own_states : l.prefix if l.bucket == bucket && l.prefix != null]))) }
}

data "aws_partition" "current" {}

# The rule review's register: one object, read with the function's own role (and its key, when given).
# The drift report's states: s3:GetObject on the listed objects and prefixes only (and their workspaces' copies),
# s3:ListBucket for the listings it makes only, kms:Decrypt on the listed keys, sts:AssumeRole on the listed roles.
# The topic the expiry and drift digests go to.
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
    for_each = length(local.state_keys) == 0 ? [] : [local.state_keys]
    content {
      sid       = "ReadIacStates"
      actions   = ["s3:GetObject"]
      resources = [for k in statement.value : "arn:${data.aws_partition.current.partition}:s3:::${k}"]
    }
  }

  dynamic "statement" {
    for_each = local.state_listings
    content {
      sid       = "ListIacStates${index(keys(local.state_listings), statement.key)}"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${data.aws_partition.current.partition}:s3:::${statement.key}"]
      condition {
        test     = "StringEquals"
        variable = "s3:prefix"
        values   = statement.value
      }
    }
  }

  dynamic "statement" {
    for_each = length(local.state_kms_keys) == 0 ? [] : [local.state_kms_keys]
    content {
      sid       = "DecryptIacStates"
      actions   = ["kms:Decrypt"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(local.state_roles) == 0 ? [] : [local.state_roles]
    content {
      sid       = "AssumeIacStateRoles"
      actions   = ["sts:AssumeRole"]
      resources = statement.value
    }
  }

  # With remediation on: the rules of an expired exception handed to the change notifier (an asynchronous invocation
  # of that one function).
  dynamic "statement" {
    for_each = var.remediation_notifier_arn == null ? [] : [var.remediation_notifier_arn]
    content {
      sid       = "HandOverExpiredExceptions"
      actions   = ["lambda:InvokeFunction"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.alert_topic_arn == null ? [] : [var.alert_topic_arn]
    content {
      sid       = "PublishDigests"
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

  # Reads the previous snapshots (and, with remediation on, the exception index); writes only its own key kinds (never
  # reviews/, events/ or another capability's records; of remediation/, only the notices of expired exceptions).
  evidence = merge(var.evidence, {
    write = [for key in ["*/snapshots/*", "*/snapshot-groups/*", "*/diffs/*", "*/claims/*", "*/exposure/*", "*/rule-review/*", "*/rule-review-state/*", "*/expiry-notices/*", "*/drift/*", "iac-declared/*", "*/remediation/expired/*"] : key
    if var.remediation_notifier_arn != null || key != "*/remediation/expired/*"]
  })

  authorized_public_ports = var.authorized_public_ports
  environment = merge(
    {
      RULE_REVIEW_TAG_KEYS       = jsonencode(var.rule_review.tag_keys)
      JUSTIFICATION_WARNING_DAYS = tostring(var.rule_review.justification_warning_days)
      PRIVATE_PEERS_JUSTIFIED    = tostring(var.rule_review.justify_private_peers)
    },
    local.register == null ? {} : { RULE_REVIEW_REGISTER_BUCKET = local.register.bucket, RULE_REVIEW_REGISTER_KEY = local.register.key },
    length(var.iac_state_locations) == 0 ? {} : {
      IAC_STATE_LOCATIONS = jsonencode([for l in var.iac_state_locations : { for k, v in { bucket = l.bucket, key = l.key, prefix = l.prefix, role_arn = l.role_arn } : k => v if v != null }])
    },
    length(var.iac_state_locations) == 0 && !var.iac_cloudformation ? {} : { IAC_MANAGED_TAG_KEYS = join(",", var.iac_managed_tag_keys) },
    var.iac_cloudformation ? { IAC_CLOUDFORMATION_DRIFT = "true" } : {},
    var.alert_topic_arn == null ? {} : { ALERT_TOPIC_ARN = var.alert_topic_arn },
    var.remediation_notifier_arn == null ? {} : { REMEDIATION_NOTIFIER_ARN = var.remediation_notifier_arn },
  )

  schedule = {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
  }
}
