output "function_name" {
  description = "Name of the unused_sg_audit function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the unused_sg_audit function."
  value       = module.function.function_arn
}

output "role_name" {
  description = "Execution role of the unused_sg_audit function."
  value       = module.function.role_name
}

output "role_arn" {
  description = "Execution role ARN (trusted by modules/member-role in member accounts)."
  value       = module.function.role_arn
}
