locals {
  register = var.rule_review.register
}

data "aws_partition" "current" {}

# The rule review's register: one object, read with the function's own role (and its key, when given).
data "aws_iam_policy_document" "with_register" {
  count = local.register == null ? 0 : 1

  source_policy_documents = [module.read_permissions.policy_json]

  statement {
    sid       = "ReadRuleReviewRegister"
    actions   = ["s3:GetObject"]
    resources = ["arn:${data.aws_partition.current.partition}:s3:::${local.register.bucket}/${local.register.key}"]
  }

  dynamic "statement" {
    for_each = try(local.register.kms_key_arn, null) == null ? [] : [local.register.kms_key_arn]
    content {
      sid       = "DecryptRuleReviewRegister"
      actions   = ["kms:Decrypt"]
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
  policy_json = local.register == null ? module.read_permissions.policy_json : data.aws_iam_policy_document.with_register[0].json
  timeout     = 900
  memory_size = 512
  accounts    = merge(var.accounts, { regions = var.regions })

  # Reads the previous snapshots; writes only its own key kinds (never reviews/, events/ or
  # another capability's records).
  evidence = merge(var.evidence, { write = ["*/snapshots/*", "*/snapshot-groups/*", "*/diffs/*", "*/claims/*", "*/exposure/*", "*/rule-review/*"] })

  authorized_public_ports = var.authorized_public_ports
  environment = merge(
    {
      RULE_REVIEW_TAG_KEYS       = jsonencode(var.rule_review.tag_keys)
      JUSTIFICATION_WARNING_DAYS = tostring(var.rule_review.justification_warning_days)
      PRIVATE_PEERS_JUSTIFIED    = tostring(var.rule_review.justify_private_peers)
    },
    local.register == null ? {} : { RULE_REVIEW_REGISTER_BUCKET = local.register.bucket, RULE_REVIEW_REGISTER_KEY = local.register.key },
  )

  schedule = {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
  }
}
