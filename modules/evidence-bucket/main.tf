# The bucket comes in two variants because Terraform's prevent_destroy cannot depend on a variable:
# `this` (the default, and the address every existing deployment has) refuses any plan that would
# destroy it, so a `terraform destroy` stops before it removes versioning, the policy or the key;
# `unprotected` is for throwaway deployments (destroy_protection = false).
# Object Lock is enabled by aws_s3_bucket_object_lock_configuration, never by the bucket's
# object_lock_enabled argument: that one forces a new bucket, so turning the lock on later would
# replace the bucket (and, with force_destroy, delete every piece of evidence).

# The bucket is created after, and destroyed before, its encryption key; both variants are
# held here to what neither may be.
resource "terraform_data" "encryption_key" {
  input = var.kms_key_arn

  lifecycle {
    precondition {
      condition     = !(var.force_destroy && var.object_lock_mode != null)
      error_message = "force_destroy cannot be combined with object_lock_mode: it would bypass GOVERNANCE retention and delete locked evidence."
    }
  }
}

resource "aws_s3_bucket" "this" {
  count = var.destroy_protection ? 1 : 0

  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags

  lifecycle {
    prevent_destroy = true
  }

  depends_on = [terraform_data.encryption_key]
}

resource "aws_s3_bucket" "unprotected" {
  count = var.destroy_protection ? 0 : 1

  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags

  depends_on = [terraform_data.encryption_key]
}

moved {
  from = aws_s3_bucket.this
  to   = aws_s3_bucket.this[0]
}

locals {
  bucket = one(concat(aws_s3_bucket.this, aws_s3_bucket.unprotected))
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = local.bucket.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = local.bucket.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = local.bucket.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = local.bucket.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = local.bucket.id

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

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_object_lock_configuration" "this" {
  count = var.object_lock_mode == null ? 0 : 1

  bucket              = local.bucket.id
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

  bucket        = local.bucket.id
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
      resources = [local.bucket.arn, "${local.bucket.arn}/*"]
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
    sid       = "DenyOverwritingEvidence"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket.arn}/*"]
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
      resources = ["${local.bucket.arn}/*"]
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
  bucket = local.bucket.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
