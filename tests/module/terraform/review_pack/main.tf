# The review pack against the whole module with Object Lock on the evidence bucket:
# the root module (inventory, bucket, topic, key) plus modules/review-pack called directly,
# so this fixture works whether or not the root wires the review pack itself. Slack is configured
# once at the root, behind an egress proxy, with a secret under its own customer-managed key:
# every function that posts gets all of it. It is given through the deprecated root inputs
# (slack_channel_id, ...), which keep working beside the slack object. Change control knows one
# approved principal (the deployer role) and groups tagged ManagedBy are IaC-managed.

resource "aws_kms_key" "slack" {
  description             = "Slack secret key of the rvp test"
  enable_key_rotation     = true
  deletion_window_in_days = 7
}

module "sgwatch" {
  source = "../../../.."

  name_prefix                 = "rvp"
  evidence_object_lock_mode   = "GOVERNANCE"
  evidence_object_lock_days   = 1
  evidence_destroy_protection = false
  # the test empties the locked bucket before its destroy: its identity is the break-glass principal
  evidence_delete_principal_arns = [data.aws_caller_identity.current.arn]
  enable_unused_sg_audit         = false

  slack_channel_id          = "C0123456789"
  create_slack_token_secret = true
  slack_secret_kms_key_arn  = aws_kms_key.slack.arn
  slack_api_url             = "https://slack-proxy.example.internal/api/"
  enable_reachability_check = true
  reachability_path_ids     = ["nip-0b26f224f1d131fa8"]

  approved_change_principals = ["arn:aws:iam::*:role/deployer"]
  iac_managed_tag_keys       = ["aws:cloudformation:stack-id", "ManagedBy"]
}

data "aws_caller_identity" "current" {}

# What the root hands its capability modules: its key, alert topic and evidence bucket.
module "support" {
  source = "../support"

  name = "rvp-t"
  root = module.sgwatch
}

module "review_pack" {
  source = "../../../../modules/review-pack"

  name_prefix     = "rvp-t"
  lambda_settings = module.support.lambda_settings
  evidence        = module.support.evidence
  alert_topic_arn = module.support.alert_topic_arn
}

# The same capability fanned out: one queued part per account/region, then a merge of the partials.
module "review_pack_fanned" {
  source = "../../../../modules/review-pack"

  name_prefix             = "rvp-f"
  lambda_settings         = module.support.lambda_settings
  evidence                = module.support.evidence
  fan_out                 = true
  fan_out_max_concurrency = 4
  memory_size             = 512
  timeout                 = 300
}

output "fanned_function_name" {
  value = module.review_pack_fanned.function_name
}

output "fanned_work_queue_url" {
  value = module.review_pack_fanned.work_queue_url
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

output "function_names" {
  value = module.sgwatch.lambda_function_names
}

output "slack_token_secret_arn" {
  value = module.sgwatch.slack_token_secret_arn
}

output "slack_kms_key_arn" {
  value = aws_kms_key.slack.arn
}
