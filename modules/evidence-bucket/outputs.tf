output "bucket_name" {
  description = "Evidence bucket name."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "Evidence bucket ARN."
  value       = aws_s3_bucket.this.arn
}
