output "policy_json" {
  description = "IAM policy document (JSON) with the read-only calls of the chosen functions, scoped to the provider's account."
  value       = data.aws_iam_policy_document.read.json
}
