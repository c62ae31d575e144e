# The review pack against the whole module with Object Lock on the evidence bucket:
# the root module (inventory, bucket, topic, key) plus modules/review-pack called directly,
# so this fixture works whether or not the root wires the review pack itself.

module "sgwatch" {
  source = "../../../.."

  name_prefix               = "rvp"
  evidence_object_lock_mode = "GOVERNANCE"
  evidence_object_lock_days = 1
  evidence_force_destroy    = true
  enable_unused_sg_audit    = false
}

data "aws_caller_identity" "current" {}

module "review_pack" {
  source = "../../../../modules/review-pack"

  name_prefix = "rvp-t"
  lambda_settings = {
    runtime            = "python3.13"
    architecture       = "arm64"
    log_retention_days = 30
    kms_key_arn        = module.sgwatch.kms_key_arn
    alarm_topic_arn    = module.sgwatch.alert_topic_arn
  }
  evidence_bucket_name = module.sgwatch.evidence_bucket_name
  evidence_bucket_arn  = "arn:aws:s3:::${module.sgwatch.evidence_bucket_name}"
  evidence_prefix      = "security-groups/"
  alert_topic_arn      = module.sgwatch.alert_topic_arn
}

output "evidence_bucket_name" {
  value = module.sgwatch.evidence_bucket_name
}

output "alert_topic_arn" {
  value = module.sgwatch.alert_topic_arn
}

output "inventory_function_name" {
  value = module.sgwatch.lambda_function_names["sg_inventory"]
}

output "review_pack_function_name" {
  value = module.review_pack.function_name
}

output "review_pack_role_name" {
  value = module.review_pack.role_name
}
