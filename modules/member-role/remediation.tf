# The opt-in remediation role (modules/member-role-definition says what it is): assumed by the central
# remediation function only, to revoke or restore security-group rules an approver asked to revert.

locals {
  remediation = module.definition.remediation == null ? [] : [module.definition.remediation]
}

resource "aws_iam_role" "remediation" {
  count = length(local.remediation)

  name                 = local.remediation[0].name
  description          = local.remediation[0].description
  assume_role_policy   = local.remediation[0].trust_policy_json
  max_session_duration = 3600
  permissions_boundary = var.permissions_boundary_arn
  tags                 = merge(var.tags, local.remediation[0].tags)
}

resource "aws_iam_role_policy" "remediation" {
  count = length(local.remediation)

  name   = local.remediation[0].policy_name
  role   = aws_iam_role.remediation[0].id
  policy = local.remediation[0].policy_json
}
