# The unused-sg-audit module on its own, with the module key, evidence bucket and alert
# topic the root would pass it. Security Hub sync is off (the emulator lacks
# BatchUpdateFindings; the unit tests cover it with botocore's Stubber).

resource "aws_kms_key" "module" {
  description             = "SG Watch test module key"
  enable_key_rotation     = true
  deletion_window_in_days = 7
}

module "evidence_bucket" {
  source = "../../../../modules/evidence-bucket"

  bucket_name        = "usa-test-evidence"
  kms_key_arn        = aws_kms_key.module.arn
  force_destroy      = true
  destroy_protection = false
}

resource "aws_sns_topic" "alerts" {
  name              = "usa-test-alerts"
  kms_master_key_id = aws_kms_key.module.arn
}

module "unused_sg_audit" {
  source = "../../../../modules/unused-sg-audit"

  name_prefix = "usa-test"
  lambda_settings = {
    runtime            = "python3.13"
    architecture       = "arm64"
    log_retention_days = 30
    kms_key_arn        = aws_kms_key.module.arn
    alarm_topic_arn    = aws_sns_topic.alerts.arn
    tags               = { Project = "sgwatch-test" }
  }
  evidence_bucket_name = module.evidence_bucket.bucket_name
  evidence_bucket_arn  = module.evidence_bucket.bucket_arn
  evidence_prefix      = "security-groups/"
  alert_topic_arn      = aws_sns_topic.alerts.arn
  grace_days           = 3
}

output "function_name" {
  value = module.unused_sg_audit.function_name
}

output "role_name" {
  value = module.unused_sg_audit.role_name
}

output "evidence_bucket_name" {
  value = module.evidence_bucket.bucket_name
}

output "alert_topic_arn" {
  value = aws_sns_topic.alerts.arn
}
