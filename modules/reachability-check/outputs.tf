output "function_name" {
  description = "Name of the reachability_check function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the reachability_check function."
  value       = module.function.function_arn
}

output "role_name" {
  description = "Execution role of the reachability_check function."
  value       = module.function.role_name
}

output "path_ids" {
  description = "Every path the function checks: the given ids and those the module created."
  value       = local.path_ids
}

output "created_path_ids" {
  description = "Ids of the paths the module created, by name."
  value       = { for name, p in aws_ec2_network_insights_path.this : name => p.id }
}

output "queue_url" {
  description = "URL of the debounce queue receiving security-group change events."
  value       = module.events_queue.url
}

output "queue_arn" {
  description = "ARN of the debounce queue."
  value       = module.events_queue.arn
}

output "dlq_url" {
  description = "URL of the queue's dead-letter queue (events that failed repeatedly or could not be delivered)."
  value       = module.events_queue.dead_letter_queue_url
}

output "rule_name" {
  description = "EventBridge rule forwarding security-group changes to the queue."
  value       = module.sg_changes_rule.name
}

output "rule_arn" {
  description = "ARN of the EventBridge rule."
  value       = module.sg_changes_rule.arn
}

output "event_pattern" {
  description = "The rule's event pattern: the given one, limited to this account and region."
  value       = local.event_pattern
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping."
  value       = module.function.event_source_mapping_uuids["events"]
}
