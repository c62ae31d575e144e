data "aws_iam_policy_document" "function" {
  statement {
    sid = "DescribeSecurityGroups"
    # Describe calls have no resource-level permissions.
    actions   = ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"]
    resources = ["*"]
  }

  statement {
    sid       = "FindPreviousSnapshot"
    actions   = ["s3:ListBucket"]
    resources = [var.evidence_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.evidence_prefix}*"]
    }
  }

  statement {
    sid       = "ReadAndWriteEvidence"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.evidence_bucket_arn}/${var.evidence_prefix}*"]
  }
}

module "function" {
  source = "../lambda-function"

  name_prefix  = var.name_prefix
  function_key = "sg_inventory"
  description  = "SG Watch: snapshot every security-group rule to the evidence bucket and diff it."
  settings     = var.lambda_settings
  policy_json  = data.aws_iam_policy_document.function.json
  timeout      = 900
  memory_size  = 512

  environment = {
    EVIDENCE_BUCKET = var.evidence_bucket_name
    EVIDENCE_PREFIX = var.evidence_prefix
    REGIONS         = join(",", var.regions)
  }

  schedule = {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
  }
}
