output "rule_name" {
  description = "Name of the forwarding rule."
  value       = module.rule.name
}

output "rule_arn" {
  description = "ARN of the forwarding rule."
  value       = module.rule.arn
}

output "role_arn" {
  description = "Role EventBridge uses to put the events on the central bus."
  value       = aws_iam_role.forward.arn
}

output "dead_letter_queue_arn" {
  description = "Queue receiving the events the central bus did not accept (watch it: a non-empty queue means lost alerts)."
  value       = module.dlq.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = module.dlq.url
}

output "alarm_names" {
  description = "Alarms on undelivered events: dead_letters (events waiting in the dead-letter queue) and failed_deliveries (deliveries that failed after every retry, whether or not the dead-letter queue took them)."
  value = {
    dead_letters      = module.dlq.alarm_names["dead-letters"]
    failed_deliveries = module.rule.alarm_names["failed-deliveries"]
  }
}

output "event_pattern" {
  description = "EventBridge pattern (JSON) of the forwarded events."
  value       = module.rule.event_pattern
}
