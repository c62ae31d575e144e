output "rule_name" {
  description = "EventBridge rule matching security-group API calls."
  value       = module.rule.name
}

output "rule_arn" {
  description = "ARN of the EventBridge rule."
  value       = module.rule.arn
}

output "event_pattern" {
  description = "Event pattern of the rule (JSON)."
  value       = module.rule.event_pattern
}

output "mode" {
  description = "Delivery mode: lambda or direct."
  value       = var.mode
}

output "function_name" {
  description = "Name of the sg_change_notifier function (null in direct mode)."
  value       = try(module.function[0].function_name, null)
}

output "role_arn" {
  description = "Execution role of the sg_change_notifier function (null in direct mode); member roles trust it so a forwarded event's group can be described."
  value       = try(module.function[0].role_arn, null)
}

output "function_arn" {
  description = "ARN of the sg_change_notifier function (null in direct mode)."
  value       = try(module.function[0].function_arn, null)
}

output "dead_letter_queue_arn" {
  description = "Queue receiving events EventBridge could not deliver."
  value       = local.dlq_arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = local.dlq_url
}
