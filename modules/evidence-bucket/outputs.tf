output "bucket_name" {
  description = "Evidence bucket name."
  value       = aws_s3_bucket.this[0].id
}

output "bucket_arn" {
  description = "Evidence bucket ARN."
  value       = aws_s3_bucket.this[0].arn
}

output "lifecycle_rule_ids" {
  description = "Ids of the bucket's lifecycle rules."
  value       = [for r in aws_s3_bucket_lifecycle_configuration.this.rule : r.id]
}
