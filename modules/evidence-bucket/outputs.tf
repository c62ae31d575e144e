output "bucket_name" {
  description = "Evidence bucket name."
  value       = local.bucket.id
}

output "bucket_arn" {
  description = "Evidence bucket ARN."
  value       = local.bucket.arn
}
