output "name" {
  description = "Rule name."
  value       = aws_cloudwatch_event_rule.this.name
}

output "arn" {
  description = "Rule ARN."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "event_pattern" {
  description = "Event pattern of the rule (JSON)."
  value       = aws_cloudwatch_event_rule.this.event_pattern
}

output "alarm_names" {
  description = "Alarm names by key: failed-deliveries."
  value       = module.alarms.alarm_names
}
