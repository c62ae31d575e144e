# The sg-inventory module on its own with a drift report: the module key, alert topic and evidence bucket the root
# would pass it (../support), and a bucket of Terraform states (encrypted with the module key) whose one state
# object the test's landing zone writes through Terraform's S3 backend; and the review pack reading its drift reports.
# With remediation on (the notifier's ARN): the exceptions that expired, checked after the drift report.

module "support" {
  source = "../support"

  name            = "drift-test"
  evidence_bucket = true
}

resource "aws_s3_bucket" "states" {
  bucket        = "drift-test-states"
  force_destroy = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "states" {
  bucket = aws_s3_bucket.states.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = module.support.kms_key_arn
    }
  }
}

module "sg_inventory" {
  source = "../../../../modules/sg-inventory"

  name_prefix     = "drift-test"
  lambda_settings = module.support.lambda_settings
  evidence        = module.support.evidence
  iac_state_locations = [
    { bucket = aws_s3_bucket_server_side_encryption_configuration.states.bucket, key = "landing-zone/terraform.tfstate", kms_key_arn = module.support.kms_key_arn },
  ]
  iac_managed_tag_keys = ["aws:cloudformation:stack-id", "ManagedBy"]
  alert_topic_arn      = module.support.alert_topic_arn
  # Remediation on, as the root wires it: the change notifier's ARN (not deployed here; the emulator runs no function,
  # so a hand-over to it fails, as a throttled or missing notifier would).
  remediation_notifier_arn = "arn:aws:lambda:us-east-1:123456789012:function:drift-test-sg-change-notifier"
}

# The review pack reading the drift reports the inventory wrote (its section "Configuration consistency").
module "review_pack" {
  source = "../../../../modules/review-pack"

  name_prefix     = "drift-test"
  lambda_settings = module.support.lambda_settings
  evidence        = module.support.evidence
}

output "review_pack_function_name" {
  value = module.review_pack.function_name
}

output "module" {
  value = module.sg_inventory
}

output "support" {
  value = module.support
}

output "states_bucket" {
  value = aws_s3_bucket_server_side_encryption_configuration.states.bucket
}
