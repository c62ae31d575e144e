output "role_arn" {
  description = "ARN of the read-only role the central functions assume."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the role (the root module's member_role_name)."
  value       = aws_iam_role.this.name
}
