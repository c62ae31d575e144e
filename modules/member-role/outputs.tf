output "role_arn" {
  description = "ARN of the read-only role the central functions assume."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the role (the root module's member_role_name)."
  value       = aws_iam_role.this.name
}

output "remediation_role_arn" {
  description = "ARN of the opt-in remediation role (null without remediation_trusted_role_arns)."
  value       = one(aws_iam_role.remediation[*].arn)
}
