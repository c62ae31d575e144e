data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  create_evidence_bucket = var.existing_evidence_bucket_name == null
  evidence_bucket_name   = local.create_evidence_bucket ? module.evidence_bucket[0].bucket_name : var.existing_evidence_bucket_name
  evidence_bucket_arn    = "arn:${local.partition}:s3:::${local.evidence_bucket_name}"

  create_alert_topic = var.existing_alert_topic_arn == null
  alert_topic_arn    = local.create_alert_topic ? module.alert_topic[0].topic_arn : var.existing_alert_topic_arn

  lambda_settings = {
    runtime                  = var.lambda_runtime
    architecture             = var.lambda_architecture
    log_retention_days       = var.log_retention_days
    permissions_boundary_arn = var.permissions_boundary_arn
    kms_key_arn              = local.kms_key_arn
    alarm_topic_arn          = local.alert_topic_arn
    tags                     = var.tags
  }

  # CloudTrail API calls that change security groups, as EventBridge delivers them.
  sg_change_event_names = [
    "CreateSecurityGroup",
    "DeleteSecurityGroup",
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "ModifySecurityGroupRules",
    "UpdateSecurityGroupRuleDescriptionsIngress",
    "UpdateSecurityGroupRuleDescriptionsEgress",
  ]
  sg_change_event_pattern = jsonencode({
    source        = ["aws.ec2"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = {
      eventSource = ["ec2.amazonaws.com"]
      eventName   = local.sg_change_event_names
    }
  })
  event_bus_name = "default"
}

module "evidence_bucket" {
  source = "./modules/evidence-bucket"
  count  = local.create_evidence_bucket ? 1 : 0

  bucket_name       = "${var.name_prefix}-evidence-${local.account_id}-${local.region}"
  kms_key_arn       = local.kms_key_arn
  retention_days    = var.evidence_retention_days
  object_lock_mode  = var.evidence_object_lock_mode
  object_lock_days  = var.evidence_object_lock_days
  access_log_bucket = var.evidence_access_log_bucket
  force_destroy     = var.evidence_force_destroy
  tags              = var.tags
}

module "alert_topic" {
  source = "./modules/alert-topic"
  count  = local.create_alert_topic ? 1 : 0

  name         = "${var.name_prefix}-alerts"
  kms_key_arn  = local.kms_key_arn
  alert_emails = var.alert_emails
  tags         = var.tags
}

module "sg_inventory" {
  source = "./modules/sg-inventory"
  count  = var.enable_sg_inventory ? 1 : 0

  name_prefix          = var.name_prefix
  lambda_settings      = local.lambda_settings
  evidence_bucket_name = local.evidence_bucket_name
  evidence_bucket_arn  = local.evidence_bucket_arn
  evidence_prefix      = var.evidence_prefix
  regions              = var.regions
  schedule_expression  = var.inventory_schedule_expression
  schedule_timezone    = var.inventory_schedule_timezone
}
