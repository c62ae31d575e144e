# Every validation of the root module's variables rejects what it should (expect_failures), and the
# defaults and typical good values plan. The inputs the root hands on to a module unchecked are refused
# by that module (tests/terraform/module_validations.tftest.hcl). Each run sets several unrelated invalid variables, each one
# failing one validation (a run fails when one of them is accepted). Offline: the AWS provider is
# mocked, nothing reaches AWS. tests/unit/test_docs.py checks that every validation of variables.tf
# is pinned here.

mock_provider "aws" {
  source = "./tests/terraform/mocks"
}

# Capabilities off: validations do not depend on them, and a smaller plan is faster.
variables {
  enable_sg_inventory    = false
  enable_unused_sg_audit = false
  enable_change_alerts   = false
  enable_review_pack     = false
}

run "defaults_plan" {
  command = plan

  variables {
    enable_sg_inventory    = true
    enable_unused_sg_audit = true
    enable_change_alerts   = true
    enable_review_pack     = null
  }
}

run "accepted_values_plan" {
  command = plan

  variables {
    name_prefix                   = "a23456789012345678901234"
    kms_key_arn                   = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    regions                       = ["eu-west-1", "us-gov-west-1", "ap-southeast-2"]
    evidence_prefix               = "evidence/security-groups/"
    evidence_object_lock_mode     = "GOVERNANCE"
    inventory_schedule_expression = "cron(0 5 * * ? *)"
    accounts                      = ["111122223333"]
    organization_id               = "o-abcd123456"
    authorized_public_ports       = [80, 443, 8443]
    enable_sg_inventory           = true
    rule_review = {
      tag_keys                   = { justification = "pci:justification", expires = "pci:expires" }
      register                   = { bucket = "security-registers", key = "sgwatch/rules.csv", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
      justification_warning_days = 30
      justify_private_peers      = true
    }
    iac_state_locations = [
      { bucket = "tf-states", key = "network/terraform.tfstate", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" },
      { bucket = "tf-states", prefix = "apps/" },
      { bucket = "other-states", prefix = "landing-zone/", role_arn = "arn:aws:iam::111122223333:role/state-reader" },
    ]
    approved_change_principals = ["arn:aws:iam::*:role/terraform-pipeline"]
    slack = {
      channel_id          = "C0123456789"
      create_token_secret = true
      api_url             = "https://slack.example.com/api/"
    }
  }
}

run "rejects_invalid_values_1" {
  command = plan

  variables {
    name_prefix                = "SgWatch"
    kms_key_arn                = "alias/aws/s3"
    lambda_runtime             = "python3.9"
    lambda_architecture        = "x86"
    log_retention_days         = 42
    regions                    = ["EU-WEST-1"]
    evidence_prefix            = "security-groups"
    existing_alert_topic_arn   = "arn:aws:sqs:us-east-1:123456789012:alerts"
    organization_id            = "org-1"
    event_bus_source_accounts  = ["bus"]
    approved_change_principals = ["terraform"]
    iac_managed_tag_keys       = ["a,b"]
  }

  expect_failures = [
    var.name_prefix,
    var.kms_key_arn,
    var.lambda_runtime,
    var.lambda_architecture,
    var.log_retention_days,
    var.regions,
    var.evidence_prefix,
    var.existing_alert_topic_arn,
    var.organization_id,
    var.event_bus_source_accounts,
    var.approved_change_principals,
    var.iac_managed_tag_keys,
  ]
}

# The second validation of a variable, or another way to break the first.
run "rejects_invalid_values_2" {
  command = plan

  variables {
    name_prefix                = "a234567890123456789012345"
    approved_change_principals = [for i in range(60) : "arn:aws:iam::123456789012:role/change-pipeline-${i}"]
    iac_managed_tag_keys       = [""]
  }

  expect_failures = [
    var.name_prefix,
    var.approved_change_principals,
    var.iac_managed_tag_keys,
  ]
}

run "rejects_a_deprecated_alias_that_disagrees" {
  command = plan

  variables {
    slack            = { channel_id = "C0123456789", create_token_secret = true }
    slack_channel_id = "C9876543210"
  }

  expect_failures = [data.aws_partition.input_checks]
}

run "rejects_report_timezone_that_disagrees" {
  command = plan

  variables {
    report_timezone          = "Europe/Berlin"
    report_schedule_timezone = "Europe/Paris"
  }

  expect_failures = [data.aws_partition.input_checks]
}

run "rejects_accounts_from_organizations_without_the_organization_id" {
  command = plan

  variables {
    accounts_from_organizations = true
  }

  expect_failures = [data.aws_partition.input_checks]
}

run "rejects_remediation_without_slack" {
  command = plan

  variables {
    remediation = { approvers = ["U0123ABCD"] }
  }

  expect_failures = [data.aws_partition.input_checks]
}
