# The member footprint's modules on their own: names within AWS limits at the longest accepted
# name_prefix, the StackSet shape of modules/organization-members, and its validations.
# Offline: the AWS provider is mocked.

mock_provider "aws" {
  source = "./tests/terraform/mocks"
}

# A member account's forwarder, in a region with one of the longest names.
run "event_forwarder_names_within_aws_limits" {
  command = plan

  module {
    source = "./modules/event-forwarder"
  }

  variables {
    name_prefix           = "a23456789012345678901234"
    central_event_bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/sgwatch-security-groups"
  }

  override_data {
    target = data.aws_region.current
    values = { name = "ap-southeast-2" }
  }

  assert {
    condition     = length(aws_iam_role.forward.name) <= 64 && length(aws_iam_role_policy.forward.name) <= 128
    error_message = "The forwarding role or its policy name exceeds IAM's limits (64, 128)."
  }
  assert {
    condition     = length(output.rule_name) <= 64 && length("${output.rule_name}-dlq") <= 80
    error_message = "The rule name exceeds 64 characters or its dead-letter queue name 80 (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html)."
  }
}

run "organization_members_names_within_aws_limits" {
  command = plan

  module {
    source = "./modules/organization-members"
  }

  variables {
    name_prefix             = "a23456789012345678901234"
    organizational_unit_ids = ["ou-abcd-12345678"]
    regions                 = ["ap-southeast-2"]
    trusted_role_arns       = ["arn:aws:iam::123456789012:role/sgwatch-sg-inventory"]
    organization_id         = "o-abcdefghij"
    central_event_bus_arn   = "arn:aws:events:us-east-1:123456789012:event-bus/sgwatch-security-groups"
  }

  # Stack set names: 128 characters, a letter then letters, digits and hyphens
  # (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html).
  assert {
    condition     = alltrue([for s in aws_cloudformation_stack_set.this : can(regex("^[a-zA-Z][-a-zA-Z0-9]{0,127}$", s.name))])
    error_message = "A stack set name is not a valid StackSet name."
  }
  assert {
    condition     = length(aws_cloudformation_stack_set_instance.per_ou) == 2 && aws_cloudformation_stack_set_instance.per_ou["member-role/us-east-1/ou-abcd-12345678"].region == "us-east-1"
    error_message = "One member-role instance in the provider's region, one forwarder instance per region."
  }
  assert {
    condition     = alltrue([for s in aws_cloudformation_stack_set.this : s.permission_model == "SERVICE_MANAGED" && s.auto_deployment[0].enabled && !s.auto_deployment[0].retain_stacks_on_account_removal])
    error_message = "Service-managed with automatic deployment, stacks removed with an account by default."
  }
}

# Adding or removing an OU touches that OU's instances only (an instance's deployment targets cannot
# change in place), and the instances of several regions and OUs, started at once, queue on their
# stack set instead of failing with OperationInProgressException.
run "organization_members_one_instance_per_ou_managed_execution" {
  command = plan

  module {
    source = "./modules/organization-members"
  }

  variables {
    organizational_unit_ids          = ["ou-abcd-12345678", "ou-abcd-87654321"]
    regions                          = ["eu-west-1", "eu-central-1"]
    role_region                      = "eu-west-1"
    trusted_role_arns                = ["arn:aws:iam::123456789012:role/sgwatch-sg-inventory"]
    organization_id                  = "o-abcdefghij"
    central_event_bus_arn            = "arn:aws:events:eu-west-1:123456789012:event-bus/sgwatch-security-groups"
    retain_stacks_on_account_removal = true
  }

  assert {
    condition = toset(keys(aws_cloudformation_stack_set_instance.per_ou)) == toset([
      "member-role/eu-west-1/ou-abcd-12345678", "member-role/eu-west-1/ou-abcd-87654321",
      "event-forwarder/eu-west-1/ou-abcd-12345678", "event-forwarder/eu-west-1/ou-abcd-87654321",
      "event-forwarder/eu-central-1/ou-abcd-12345678", "event-forwarder/eu-central-1/ou-abcd-87654321",
    ])
    error_message = "One instance per stack set, region and OU."
  }
  assert {
    condition     = alltrue([for key, i in aws_cloudformation_stack_set_instance.per_ou : i.deployment_targets[0].organizational_unit_ids == toset([split("/", key)[2]]) && i.retain_stack])
    error_message = "Each instance targets its own OU only, and keeps its stacks when its OU is removed with retain_stacks_on_account_removal."
  }
  assert {
    condition     = alltrue([for s in aws_cloudformation_stack_set.this : s.managed_execution[0].active])
    error_message = "Both stack sets queue conflicting operations (managed execution)."
  }
}

# OUs created in the same apply have ids unknown at plan: named by the caller's keys instead.
run "organization_members_ous_by_name" {
  command = plan

  module {
    source = "./modules/organization-members"
  }

  variables {
    organizational_units  = { workloads = "ou-abcd-12345678" }
    regions               = ["eu-west-1"]
    role_region           = "eu-west-1"
    trusted_role_arns     = ["arn:aws:iam::123456789012:role/sgwatch-sg-inventory"]
    organization_id       = "o-abcdefghij"
    central_event_bus_arn = "arn:aws:events:eu-west-1:123456789012:event-bus/sgwatch-security-groups"
  }

  assert {
    condition     = toset(keys(aws_cloudformation_stack_set_instance.per_ou)) == toset(["member-role/eu-west-1/workloads", "event-forwarder/eu-west-1/workloads"])
    error_message = "Instances keyed by the OU's name."
  }
}

run "organization_members_needs_an_ou" {
  command = plan

  module {
    source = "./modules/organization-members"
  }

  variables {
    regions               = ["eu-west-1"]
    trusted_role_arns     = ["arn:aws:iam::123456789012:role/sgwatch-sg-inventory"]
    organization_id       = "o-abcdefghij"
    central_event_bus_arn = "arn:aws:events:eu-west-1:123456789012:event-bus/sgwatch-security-groups"
  }

  expect_failures = [aws_cloudformation_stack_set.this]
}

run "organization_members_requires_the_organization_id" {
  command = plan

  module {
    source = "./modules/organization-members"
  }

  variables {
    organizational_unit_ids = ["ou-abcd-12345678"]
    regions                 = ["eu-west-1"]
    trusted_role_arns       = ["arn:aws:iam::123456789012:role/sgwatch-sg-inventory"]
    organization_id         = null
    central_event_bus_arn   = "arn:aws:events:eu-west-1:123456789012:event-bus/sgwatch-security-groups"
  }

  expect_failures = [var.organization_id]
}

run "organization_members_rejects_invalid_values" {
  command = plan

  module {
    source = "./modules/organization-members"
  }

  variables {
    name_prefix             = "SgWatch"
    organizational_unit_ids = ["engineering"]
    regions                 = []
    trusted_role_arns       = ["arn:aws:iam::123456789012:role/sgwatch-sg-inventory"]
    call_as                 = "ADMIN"
    organization_id         = "o-abcdefghij"
    central_event_bus_arn   = "sgwatch-security-groups"
    alarm_topic_name        = "arn:aws:sns:us-east-1:123456789012:topic"
  }

  expect_failures = [
    var.name_prefix,
    var.organizational_unit_ids,
    var.regions,
    var.call_as,
    var.central_event_bus_arn,
    var.alarm_topic_name,
  ]
}

# The member role of modules/member-role and modules/organization-members, checked where it is defined.
run "member_role_definition_rejects_a_wildcard_trusted_role" {
  command = plan

  module {
    source = "./modules/member-role-definition"
  }

  variables {
    role = { name = "sgwatch-member-read", trusted_role_arns = ["arn:aws:iam::123456789012:role/*"] }
  }

  expect_failures = [var.role]
}

# The opt-in remediation role: trusted by the remediation function's role only, allowed to read rules and
# revoke or modify them, nothing else; in one account (modules/member-role) and in the StackSet template.
run "member_role_remediation_role_is_opt_in" {
  command = plan

  module {
    source = "./modules/member-role"
  }

  variables {
    trusted_role_arns             = ["arn:aws:iam::123456789012:role/sgwatch-sg-inventory"]
    remediation_trusted_role_arns = ["arn:aws:iam::123456789012:role/sgwatch-remediation"]
  }

  # Its trust and grants are checked on the applied roles (tests/module/test_organization_members.py).
  assert {
    condition     = aws_iam_role.remediation[0].name == "sgwatch-member-remediation" && aws_iam_role_policy.remediation[0].name == "sgwatch-member-remediation-revert"
    error_message = "The remediation role is not created under the name the root module assumes."
  }
}

run "member_role_without_remediation_creates_no_remediation_role" {
  command = plan

  module {
    source = "./modules/member-role"
  }

  variables {
    trusted_role_arns = ["arn:aws:iam::123456789012:role/sgwatch-sg-inventory"]
  }

  assert {
    condition     = length(aws_iam_role.remediation) == 0
    error_message = "A remediation role was created without being asked for."
  }
}

run "organization_members_template_holds_the_opt_in_remediation_role" {
  command = plan

  module {
    source = "./modules/organization-members"
  }

  variables {
    organizational_unit_ids       = ["ou-abcd-12345678"]
    regions                       = ["us-east-1"]
    trusted_role_arns             = ["arn:aws:iam::123456789012:role/sgwatch-sg-inventory"]
    remediation_trusted_role_arns = ["arn:aws:iam::123456789012:role/sgwatch-remediation"]
    organization_id               = "o-abcdefghij"
    central_event_bus_arn         = "arn:aws:events:us-east-1:123456789012:event-bus/sgwatch-security-groups"
  }

  assert {
    condition     = jsondecode(aws_cloudformation_stack_set.this["member-role"].template_body).Resources.RemediationRole.Properties.RoleName == "sgwatch-member-remediation"
    error_message = "The member-role StackSet template does not create the remediation role."
  }
}

run "member_role_definition_rejects_a_wildcard_remediation_role" {
  command = plan

  module {
    source = "./modules/member-role-definition"
  }

  variables {
    role = {
      name                          = "sgwatch-member-read"
      trusted_role_arns             = ["arn:aws:iam::123456789012:role/sgwatch-sg-inventory"]
      remediation_trusted_role_arns = ["arn:aws:iam::123456789012:role/*"]
    }
  }

  expect_failures = [var.role]
}
