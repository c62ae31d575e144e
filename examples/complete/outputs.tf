output "evidence_bucket_name" {
  description = "Evidence bucket."
  value       = module.sgwatch.evidence_bucket_name
}

output "alert_topic_arn" {
  description = "Alert topic."
  value       = module.sgwatch.alert_topic_arn
}

output "kms_key_arn" {
  description = "Module KMS key."
  value       = module.sgwatch.kms_key_arn
}

output "lambda_function_names" {
  description = "Deployed functions."
  value       = module.sgwatch.lambda_function_names
}

output "slack_token_secret_arn" {
  description = "Put the Slack bot token in this secret (aws secretsmanager put-secret-value)."
  value       = module.sgwatch.slack_token_secret_arn
}

output "key_guard_topic_arn" {
  description = "Topic alerted when the module key is disabled or scheduled for deletion."
  value       = module.sgwatch.key_guard_topic_arn
}

output "evidence_query_policy_arn" {
  description = "IAM policy to attach to whoever runs the evidence queries (null when they are off)."
  value       = module.sgwatch.evidence_query_policy_arn
}

output "evidence_query_workgroup" {
  description = "Athena workgroup and Glue database of the evidence queries (null when they are off)."
  value       = module.sgwatch.evidence_query_workgroup
}
