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
