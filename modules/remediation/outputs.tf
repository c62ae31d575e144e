output "interaction_url" {
  description = "Slack app's interactivity request URL (the function URL)."
  value       = aws_lambda_function_url.interactions.function_url
}

output "signing_secret_arn" {
  description = "Secrets Manager secret to fill with the Slack app's signing secret."
  value       = aws_secretsmanager_secret.signing.arn
}

output "function_name" {
  description = "Name of the remediation function."
  value       = module.function.function_name
}

output "role_arn" {
  description = "Execution role of the remediation function: the one principal a member account's remediation role trusts."
  value       = module.function.role_arn
}

output "work_queue_url" {
  description = "Queue of the clicks waiting to be handled."
  value       = module.function.work_queue_url
}
