# The execution role: exactly what the function's code calls (policy_json), plus what this module
# gives every function (its log group, its queues, the module key) and what its optional inputs
# bring (evidence bucket keys, member accounts, the Slack token secret).

locals {
  evidence = var.evidence == null ? [] : [var.evidence]
  slack    = var.slack == null ? [] : [var.slack]
  accounts = var.accounts == null ? [] : [var.accounts]
}

data "aws_iam_policy_document" "runtime" {
  source_policy_documents = [var.policy_json]

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [module.dead_letters.arn]
  }

  dynamic "statement" {
    for_each = local.work_queue ? [module.work_queue[0].arn] : []
    content {
      sid       = "QueueWork"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.work_queue ? [module.work_queue[0].arn] : []
    content {
      # What the event source mapping does with the function's role.
      sid       = "ReceiveWork"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "ModuleKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.settings.kms_key_arn]
  }

  # --- the evidence bucket: the keys below the prefix the function lists and reads, and the ones it writes

  dynamic "statement" {
    for_each = [for e in local.evidence : e if length(e.read) > 0]
    content {
      sid       = "ListEvidence"
      actions   = ["s3:ListBucket"]
      resources = [statement.value.bucket_arn]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = [for key in statement.value.read : "${statement.value.prefix}${key}"]
      }
    }
  }

  dynamic "statement" {
    for_each = [for e in local.evidence : e if length(e.read) > 0]
    content {
      sid       = "ReadEvidence"
      actions   = ["s3:GetObject"]
      resources = [for key in statement.value.read : "${statement.value.bucket_arn}/${statement.value.prefix}${key}"]
    }
  }

  dynamic "statement" {
    for_each = [for e in local.evidence : e if length(e.write) > 0]
    content {
      sid       = "WriteEvidence"
      actions   = ["s3:PutObject"]
      resources = [for key in statement.value.write : "${statement.value.bucket_arn}/${statement.value.prefix}${key}"]
    }
  }

  # --- the Slack bot token: its secret, and the secret's own key when it is not the module key

  dynamic "statement" {
    for_each = local.slack
    content {
      sid       = "ReadSlackToken"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value.token_secret_arn]
    }
  }

  dynamic "statement" {
    for_each = [for s in local.slack : s if s.secret_kms_key_arn != null && s.secret_kms_key_arn != var.settings.kms_key_arn]
    content {
      sid       = "DecryptSlackToken"
      actions   = ["kms:Decrypt"]
      resources = [statement.value.secret_kms_key_arn]
      # Secrets Manager decrypts a secret with its ARN as encryption context.
      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:SecretARN"
        values   = [statement.value.token_secret_arn]
      }
    }
  }

  # --- member accounts: exactly the listed accounts' member role...

  dynamic "statement" {
    for_each = [for a in local.accounts : a if length(a.ids) > 0]
    content {
      sid       = "ReadMemberAccounts"
      actions   = ["sts:AssumeRole"]
      resources = [for id in statement.value.ids : "arn:${local.partition}:iam::${id}:role/${statement.value.member_role_name}"]
    }
  }

  # ...or the member role of any account when the list comes from Organizations, and then only in
  # accounts of the organisation when its id is known: aws:ResourceOrgID is the organisation of
  # the account owning the role being assumed. The function also refuses queued accounts that
  # are not ACTIVE accounts of the organisation (functions/sgwatch/fanout.py).
  dynamic "statement" {
    for_each = [for a in local.accounts : a if a.from_organizations]
    content {
      sid       = "ReadOrganizationMemberAccounts"
      actions   = ["sts:AssumeRole"]
      resources = ["arn:${local.partition}:iam::*:role/${statement.value.member_role_name}"]

      dynamic "condition" {
        for_each = statement.value.organization_id == null ? [] : [statement.value.organization_id]
        content {
          test     = "StringEquals"
          variable = "aws:ResourceOrgID"
          values   = [condition.value]
        }
      }
    }
  }

  dynamic "statement" {
    for_each = [for a in local.accounts : a if a.from_organizations]
    content {
      sid = "ListOrganizationAccounts"
      # ListAccounts has no resource-level permissions.
      actions   = ["organizations:ListAccounts"]
      resources = ["*"]
    }
  }
}
