# The execution role: exactly what the function's code calls (policy_json), plus what this module
# gives every function (its log group, its queues, the module key) and what its optional inputs
# bring (evidence bucket keys, member accounts, the Slack token secret).

locals {
  evidence = var.evidence == null ? [] : [var.evidence]
  slack    = var.slack == null ? [] : [var.slack]
  accounts = var.accounts == null ? [] : [var.accounts]

  # Keys below the evidence prefix the function lists and reads, and the ones it writes.
  evidence_read  = [for e in local.evidence : [for key in e.read : "${e.prefix}${key}"] if length(e.read) > 0]
  evidence_write = [for e in local.evidence : [for key in e.write : "${e.prefix}${key}"] if length(e.write) > 0]
  # The secret's own key, when it is neither the AWS managed key nor the module key.
  slack_secret_keys = [for s in local.slack : s if s.secret_kms_key_arn != null && s.secret_kms_key_arn != var.settings.kms_key_arn]
  listed_accounts   = [for a in local.accounts : a if length(a.ids) > 0]
  organization      = [for a in local.accounts : a if a.from_organizations]

  # Every statement in policy order: sid, actions, resources and conditions (test, variable, values).
  runtime_statements = concat(
    [
      { sid = "WriteOwnLogs", actions = ["logs:CreateLogStream", "logs:PutLogEvents"], resources = ["${local.log_group_arn}:*"], conditions = [] },
      { sid = "DeadLetterQueue", actions = ["sqs:SendMessage"], resources = [module.dead_letters.arn], conditions = [] },
    ],
    [for arn in module.work_queue[*].arn : { sid = "QueueWork", actions = ["sqs:SendMessage"], resources = [arn], conditions = [] }],
    # What the event source mappings do with the function's role (ReceiveWork, ReceiveEvents).
    [for key, source in local.queue_sources : {
      sid        = "Receive${title(key)}"
      actions    = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources  = [source.arn]
      conditions = []
    }],
    [{ sid = "ModuleKey", actions = ["kms:Decrypt", "kms:GenerateDataKey"], resources = [var.settings.kms_key_arn], conditions = [] }],

    # --- the evidence bucket
    [for i, keys in local.evidence_read : {
      sid        = "ListEvidence"
      actions    = ["s3:ListBucket"]
      resources  = [local.evidence[i].bucket_arn]
      conditions = [{ test = "StringLike", variable = "s3:prefix", values = keys }]
    }],
    [for i, keys in local.evidence_read : {
      sid        = "ReadEvidence"
      actions    = ["s3:GetObject"]
      resources  = [for key in keys : "${local.evidence[i].bucket_arn}/${key}"]
      conditions = []
    }],
    [for i, keys in local.evidence_write : {
      sid        = "WriteEvidence"
      actions    = ["s3:PutObject"]
      resources  = [for key in keys : "${local.evidence[i].bucket_arn}/${key}"]
      conditions = []
    }],

    # --- the Slack bot token: its secret, and the secret's own key
    [for s in local.slack : { sid = "ReadSlackToken", actions = ["secretsmanager:GetSecretValue"], resources = [s.token_secret_arn], conditions = [] }],
    [for s in local.slack_secret_keys : {
      sid       = "DecryptSlackToken"
      actions   = ["kms:Decrypt"]
      resources = [s.secret_kms_key_arn]
      # Secrets Manager decrypts a secret with its ARN as encryption context.
      conditions = [{ test = "StringEquals", variable = "kms:EncryptionContext:SecretARN", values = [s.token_secret_arn] }]
    }],

    # --- member accounts: exactly the listed accounts' member role...
    [for a in local.listed_accounts : {
      sid        = "ReadMemberAccounts"
      actions    = ["sts:AssumeRole"]
      resources  = [for id in a.ids : "arn:${local.partition}:iam::${id}:role/${a.member_role_name}"]
      conditions = []
    }],
    # ...or the member role of any account when the list comes from Organizations, and then only in
    # accounts of the organisation when its id is known: aws:ResourceOrgID is the organisation of
    # the account owning the role being assumed. The function also refuses queued accounts that
    # are not ACTIVE accounts of the organisation (functions/sgwatch/fanout.py).
    [for a in local.organization : {
      sid        = "ReadOrganizationMemberAccounts"
      actions    = ["sts:AssumeRole"]
      resources  = ["arn:${local.partition}:iam::*:role/${a.member_role_name}"]
      conditions = a.organization_id == null ? [] : [{ test = "StringEquals", variable = "aws:ResourceOrgID", values = [a.organization_id] }]
    }],
    # ListAccounts has no resource-level permissions.
    [for a in local.organization : { sid = "ListOrganizationAccounts", actions = ["organizations:ListAccounts"], resources = ["*"], conditions = [] } if a.lists_organization],
  )
}

data "aws_iam_policy_document" "runtime" {
  source_policy_documents = [var.policy_json]

  dynamic "statement" {
    for_each = local.runtime_statements
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}
