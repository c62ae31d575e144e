output "arn" {
  description = "ARN of the source queue, or of the dead-letter queue when there is no source queue; known once the queue policy lets event_rule_arns send, so a rule targeting it waits for that."
  value       = local.has_source ? aws_sqs_queue.this[0].arn : aws_sqs_queue.dead_letters.arn
  depends_on  = [aws_sqs_queue_policy.event_rule]
}

output "url" {
  description = "URL of the source queue, or of the dead-letter queue when there is no source queue."
  value       = local.has_source ? aws_sqs_queue.this[0].url : aws_sqs_queue.dead_letters.url
}

output "name" {
  description = "Name of the source queue, or of the dead-letter queue when there is no source queue."
  value       = local.has_source ? aws_sqs_queue.this[0].name : aws_sqs_queue.dead_letters.name
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue; known once its policy lets event_rule_arns send."
  value       = aws_sqs_queue.dead_letters.arn
  depends_on  = [aws_sqs_queue_policy.event_rule]
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dead_letters.url
}

output "dead_letter_queue_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dead_letters.name
}

output "alarm_names" {
  description = "Alarm names by key: dead-letters, and backlog with a backlog alarm."
  value       = module.alarms.alarm_names
}
