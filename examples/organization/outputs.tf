output "evidence_bucket_name" {
  description = "Central evidence bucket."
  value       = module.sgwatch.evidence_bucket_name
}

output "alert_topic_arn" {
  description = "Central alert topic."
  value       = module.sgwatch.alert_topic_arn
}

output "lambda_function_names" {
  description = "Deployed central functions."
  value       = module.sgwatch.lambda_function_names
}

output "function_role_arns" {
  description = "Execution role of each central function."
  value       = module.sgwatch.function_role_arns
}

output "event_bus_arn" {
  description = "Central event bus receiving the forwarded changes."
  value       = module.sgwatch.event_bus_arn
}

output "fan_out_queues" {
  description = "Work queues and their dead-letter queues of the fan-out."
  value       = module.sgwatch.fan_out_queues
}

output "central_account_id" {
  description = "The security-tooling account."
  value       = local.central_account_id
}

output "member_account_id" {
  description = "The member account."
  value       = var.member_account_id
}

output "member_role_arn" {
  description = "Read-only role in the member account."
  value       = module.member_read_role.role_arn
}

output "member_forwarder" {
  description = "Every output of the member account's modules/event-forwarder (rule, role, dead-letter queue, alarms, event pattern)."
  value       = module.member_forwarder
}

output "central_secondary_forwarder" {
  description = "Every output of the modules/event-forwarder in the central account's second region (rule, role, dead-letter queue, alarms, event pattern)."
  value       = module.central_secondary_forwarder
}

output "stack_set_names" {
  description = "StackSets deploying the member role and the forwarders to the OUs; null when the StackSet path is off."
  value       = try(module.organization_members[0].stack_set_names, null)
}
