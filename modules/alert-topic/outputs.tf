output "topic_arn" {
  description = "Alert topic ARN."
  value       = aws_sns_topic.this.arn
}
