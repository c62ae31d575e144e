# The unused-sg-audit module on its own, with the module key, evidence bucket and alert
# topic the root would pass it (../support; the bucket is modules/evidence-bucket). Security Hub
# sync is off (the emulator lacks BatchUpdateFindings; the unit tests cover it with botocore's Stubber).

module "support" {
  source = "../support"

  name = "usa-test"
}

module "evidence_bucket" {
  source = "../../../../modules/evidence-bucket"

  bucket_name        = "usa-test-evidence"
  kms_key_arn        = module.support.kms_key_arn
  force_destroy      = true
  destroy_protection = false
}

module "unused_sg_audit" {
  source = "../../../../modules/unused-sg-audit"

  name_prefix     = "usa-test"
  lambda_settings = module.support.lambda_settings
  evidence = {
    bucket_name = module.evidence_bucket.bucket_name
    bucket_arn  = module.evidence_bucket.bucket_arn
    prefix      = "security-groups/"
  }
  alert_topic_arn = module.support.alert_topic_arn
  grace_days      = 3
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
  value = module.support.alert_topic_arn
}
