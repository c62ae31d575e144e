output "function_name" {
  description = "Deployed function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Deployed function ARN."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.function.arn
}

output "role_name" {
  description = "Execution role name."
  value       = aws_iam_role.function.name
}

output "dlq_arn" {
  description = "Dead-letter queue ARN (async invocations and schedule deliveries)."
  value       = module.dead_letters.arn
}

output "dlq_url" {
  description = "Dead-letter queue URL."
  value       = module.dead_letters.url
}

output "log_group_name" {
  description = "CloudWatch log group of the function."
  value       = aws_cloudwatch_log_group.function.name
}

output "work_queue_url" {
  description = "Fan-out work queue URL (null without accounts.fan_out)."
  value       = one(module.work_queue[*].url)
}

output "event_source_mapping_uuids" {
  description = "UUIDs of the SQS event source mappings by queue: work (with accounts.fan_out) and events (with event_queue)."
  value       = { for key, mapping in aws_lambda_event_source_mapping.queue : key => mapping.uuid }
}

output "work_dead_letter_queue_url" {
  description = "Dead-letter queue of the units of work that kept failing (null without accounts.fan_out)."
  value       = one(module.work_queue[*].dead_letter_queue_url)
}
