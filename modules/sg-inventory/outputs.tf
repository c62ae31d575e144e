output "function_name" {
  description = "Name of the sg_inventory function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the sg_inventory function."
  value       = module.function.function_arn
}

output "role_name" {
  description = "Execution role of the sg_inventory function."
  value       = module.function.role_name
}

output "role_arn" {
  description = "Execution role ARN (trusted by modules/member-role in member accounts)."
  value       = module.function.role_arn
}

output "work_queue_url" {
  description = "Work queue of the fan-out, one message per (account, region) pair (null without accounts.fan_out)."
  value       = module.function.work_queue_url
}

output "work_dead_letter_queue_url" {
  description = "Pairs that kept failing in the fan-out, kept for a redrive (null without accounts.fan_out)."
  value       = module.function.work_dead_letter_queue_url
}
