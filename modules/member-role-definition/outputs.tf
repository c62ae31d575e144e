output "role" {
  description = "The role to create: name, description, max_session_duration, trust_policy_json (who may assume it), read_policy_name and read_policy_json (its one inline policy, scoped to the provider's account) and tags."
  value = {
    name                 = var.role.name
    description          = "SG Watch: read-only access for the central inventory, unused-group audit and change notifier"
    max_session_duration = var.role.max_session_duration
    trust_policy_json    = data.aws_iam_policy_document.trust["read"].json
    read_policy_name     = "${var.role.name}-read"
    read_policy_json     = module.read_permissions.policy_json
    tags                 = { "sgwatch:capability" = "member-role" }
  }
}

output "remediation" {
  description = "The opt-in remediation role to create, null without remediation_trusted_role_arns: name, description, trust_policy_json, policy_name and policy_json (scoped to the provider's account) and tags."
  value = local.remediation_enabled ? {
    name              = var.role.remediation_role_name
    description       = "SG Watch remediation: revokes or restores security-group rules an approver asked to revert"
    trust_policy_json = data.aws_iam_policy_document.trust["remediation"].json
    policy_name       = "${var.role.remediation_role_name}-revert"
    policy_json       = data.aws_iam_policy_document.remediation.json
    tags              = { "sgwatch:capability" = "remediation" }
  } : null
}
