# Destroy protection is a guard beside the bucket, not a second variant of it: Terraform's
# prevent_destroy cannot depend on a variable, and two variants would give the bucket a new address
# whenever destroy_protection is flipped (a plan destroying the evidence). The guard carries
# prevent_destroy and is replaced whenever the bucket would be (it holds the bucket's ARN, unknown
# for a new bucket), so a plan destroying or replacing the bucket, `terraform destroy` and a targeted
# destroy of the bucket (which takes its dependants) are all refused before anything changes.
# Turning protection off therefore means forgetting the guard first (README, "Upgrades, moving
# evidence and deleting it"); turning it on adds the guard and changes nothing else.
# Object Lock is enabled by aws_s3_bucket_object_lock_configuration, never by the bucket's
# object_lock_enabled argument: that one forces a new bucket, so turning the lock on later would
# replace the bucket (and, with force_destroy, delete every piece of evidence).

# The bucket is created after, and destroyed before, its encryption key.
resource "terraform_data" "encryption_key" {
  input = var.kms_key_arn

  lifecycle {
    precondition {
      condition     = !(var.force_destroy && var.object_lock_mode != null)
      error_message = "force_destroy cannot be combined with object_lock_mode: it would bypass GOVERNANCE retention and delete locked evidence."
    }
  }
}

# count = 1: the address 1.0.x gave the protected bucket (this[0]) is kept, so only the unprotected
# one moves (Terraform allows one source per moved destination).
resource "aws_s3_bucket" "this" {
  count = 1

  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags

  depends_on = [terraform_data.encryption_key]
}

resource "terraform_data" "destroy_protection" {
  count = var.destroy_protection ? 1 : 0

  triggers_replace = aws_s3_bucket.this[0].arn

  lifecycle {
    prevent_destroy = true
  }
}

# 1.0.x created the bucket as `unprotected[0]` when destroy_protection was false.
moved {
  from = aws_s3_bucket.unprotected[0]
  to   = aws_s3_bucket.this[0]
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this[0].id

  rule {
    id     = "evidence-retention"
    status = "Enabled"
    filter {}

    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }

    expiration {
      days = var.retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Query results are working files, not evidence: they expire (current and noncurrent versions) sooner.
  dynamic "rule" {
    for_each = var.query_results_prefix == null ? [] : [var.query_results_prefix]
    content {
      id     = "query-results"
      status = "Enabled"
      filter {
        prefix = rule.value
      }

      expiration {
        days = var.query_results_days
      }

      noncurrent_version_expiration {
        noncurrent_days = 1
      }

      abort_incomplete_multipart_upload {
        days_after_initiation = 1
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_object_lock_configuration" "this" {
  count = var.object_lock_mode == null ? 0 : 1

  bucket              = aws_s3_bucket.this[0].id
  object_lock_enabled = "Enabled"
  rule {
    default_retention {
      mode = var.object_lock_mode
      days = var.object_lock_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log_bucket == null ? 0 : 1

  bucket        = aws_s3_bucket.this[0].id
  target_bucket = var.access_log_bucket
  target_prefix = var.access_log_prefix
}

data "aws_iam_policy_document" "bucket" {
  # Plain HTTP, and TLS older than 1.2, refused to every principal.
  dynamic "statement" {
    for_each = {
      DenyInsecureTransport = { test = "Bool", variable = "aws:SecureTransport", values = ["false"] }
      DenyOutdatedTls       = { test = "NumericLessThan", variable = "s3:TlsVersion", values = ["1.2"] }
    }
    content {
      sid       = statement.key
      effect    = "Deny"
      actions   = ["s3:*"]
      resources = [aws_s3_bucket.this[0].arn, "${aws_s3_bucket.this[0].arn}/*"]
      principals {
        type        = "*"
        identifiers = ["*"]
      }
      condition {
        test     = statement.value.test
        variable = statement.value.variable
        values   = statement.value.values
      }
    }
  }

  # Write-once does not rest on the client alone: S3 refuses an object write without If-None-Match
  # (s3:if-none-match, "Enforce conditional writes on Amazon S3 buckets" in the S3 user guide), so
  # no principal overwrites evidence. The parts of a multipart upload carry no such header and are
  # exempt (s3:ObjectCreationOperation false); its CompleteMultipartUpload is not.
  statement {
    sid     = "DenyOverwritingEvidence"
    effect  = "Deny"
    actions = ["s3:PutObject"]
    # Athena writes query results without If-None-Match: their prefix (not evidence) is left out.
    resources     = var.query_results_prefix == null ? ["${aws_s3_bucket.this[0].arn}/*"] : null
    not_resources = var.query_results_prefix == null ? null : ["${aws_s3_bucket.this[0].arn}/${var.query_results_prefix}*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Null"
      variable = "s3:if-none-match"
      values   = ["true"]
    }
    condition {
      test     = "Bool"
      variable = "s3:ObjectCreationOperation"
      values   = ["true"]
    }
  }

  # Evidence is deleted by lifecycle expiry only (which no bucket policy stops), or by the
  # break-glass principals the user names. A throwaway bucket (force_destroy) can be emptied.
  dynamic "statement" {
    for_each = var.force_destroy ? [] : [1]
    content {
      sid       = "DenyDeletingEvidence"
      effect    = "Deny"
      actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
      resources = ["${aws_s3_bucket.this[0].arn}/*"]
      principals {
        type        = "*"
        identifiers = ["*"]
      }
      dynamic "condition" {
        for_each = length(var.delete_principal_arns) == 0 ? [] : [1]
        content {
          test     = "ArnNotLike"
          variable = "aws:PrincipalArn"
          values   = var.delete_principal_arns
        }
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this[0].id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
