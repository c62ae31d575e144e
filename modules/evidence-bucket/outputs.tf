output "bucket_name" {
  description = "Evidence bucket name."
  value       = aws_s3_bucket.this[0].id
}

output "bucket_arn" {
  description = "Evidence bucket ARN."
  value       = aws_s3_bucket.this[0].arn
}
