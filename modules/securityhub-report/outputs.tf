output "function_name" {
  description = "Name of the securityhub_report function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the securityhub_report function."
  value       = module.function.function_arn
}

output "role_name" {
  description = "Execution role of the securityhub_report function."
  value       = module.function.role_name
}

output "slack_token_secret_arn" {
  description = "Secret the function reads the Slack token from (slack.token_secret_arn, or the one the deprecated slack.create_token_secret created)."
  value       = local.token_secret_arn
}
