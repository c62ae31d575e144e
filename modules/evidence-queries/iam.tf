# Whoever runs the queries: this workgroup's queries over these tables, reading the objects of the
# evidence kinds the tables cover and the workgroup's results (which Athena writes with the caller's
# credentials, encrypted with the evidence key: hence s3:PutObject on the results prefix only and
# kms:GenerateDataKey beside kms:Decrypt). Nothing else: no other workgroup, database or evidence.

locals {
  catalog_arn = "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  # Built, not read from the workgroup: the policy is then known at plan, where it can be reviewed.
  workgroup_arn  = "arn:${data.aws_partition.current.partition}:athena:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:workgroup/${local.workgroup_name}"
  evidence_reads = [for kind in distinct(values(local.kinds)) : "${var.evidence.prefix}*/*/${kind}/*"]
}

data "aws_partition" "current" {}
data "aws_region" "current" {}

data "aws_iam_policy_document" "query" {
  statement {
    sid = "RunWorkgroupQueries"
    actions = [
      "athena:BatchGetNamedQuery",
      "athena:BatchGetQueryExecution",
      "athena:GetNamedQuery",
      "athena:GetQueryExecution",
      "athena:GetQueryResults",
      "athena:GetWorkGroup",
      "athena:ListNamedQueries",
      "athena:ListQueryExecutions",
      "athena:StartQueryExecution",
      "athena:StopQueryExecution",
    ]
    resources = [local.workgroup_arn]
  }

  statement {
    sid     = "ReadEvidenceTables"
    actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"]
    resources = [
      "${local.catalog_arn}:catalog",
      "${local.catalog_arn}:database/${local.database_name}",
      "${local.catalog_arn}:table/${local.database_name}/*",
    ]
  }

  statement {
    sid       = "ListEvidenceAndResults"
    actions   = ["s3:ListBucket"]
    resources = [var.evidence.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = concat(local.evidence_reads, ["${var.results_prefix}*"])
    }
  }

  statement {
    sid       = "LocateBucket"
    actions   = ["s3:GetBucketLocation"]
    resources = [var.evidence.bucket_arn]
  }

  statement {
    sid       = "ReadEvidenceAndResults"
    actions   = ["s3:GetObject"]
    resources = [for p in concat(local.evidence_reads, ["${var.results_prefix}*"]) : "${var.evidence.bucket_arn}/${p}"]
  }

  statement {
    sid       = "WriteResults"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${var.evidence.bucket_arn}/${var.results_prefix}*"]
  }

  statement {
    sid       = "EvidenceKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_policy" "query" {
  name        = "${var.name_prefix}-evidence-query"
  description = "Run the ${var.name_prefix} evidence workgroup's Athena queries over the evidence tables, and nothing else."
  policy      = data.aws_iam_policy_document.query.json
  tags        = var.tags
}
