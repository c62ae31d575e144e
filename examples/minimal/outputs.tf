output "evidence_bucket_name" {
  description = "Evidence bucket."
  value       = module.sgwatch.evidence_bucket_name
}

output "lambda_function_names" {
  description = "Deployed functions."
  value       = module.sgwatch.lambda_function_names
}
