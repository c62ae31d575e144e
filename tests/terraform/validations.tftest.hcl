# Every validation of the root module's variables rejects what it should (expect_failures), and the
# defaults and typical good values plan. Each run sets several unrelated invalid variables, each one
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
    approved_change_principals    = ["arn:aws:iam::*:role/terraform-pipeline"]
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
    name_prefix                       = "SgWatch"
    kms_key_arn                       = "alias/aws/s3"
    lambda_runtime                    = "python3.9"
    lambda_architecture               = "x86"
    log_retention_days                = 42
    regions                           = ["EU-WEST-1"]
    evidence_prefix                   = "security-groups"
    evidence_retention_days           = 90
    evidence_object_lock_mode         = "LEGAL_HOLD"
    evidence_object_lock_days         = 0
    evidence_delete_principal_arns    = ["admin"]
    existing_alert_topic_arn          = "arn:aws:sqs:us-east-1:123456789012:alerts"
    inventory_schedule_expression     = "daily"
    securityhub_control_ids           = ["EC2 2"]
    securityhub_severities            = ["SEVERE"]
    owner_slack_ids                   = { alice = "alice" }
    report_schedule_expression        = "weekly"
    unused_sg_schedule_expression     = "rate(0 days)"
    unused_sg_exempt_tag_key          = " "
    unused_sg_grace_days              = 91
    unused_sg_securityhub_control_ids = []
    reachability_path_ids             = ["nip-xyz"]
    reachability_paths                = [{ name = "web", source = "eni-1", destination = "eni-2" }, { name = "web", source = "eni-3", destination = "eni-4" }]
    reachability_batch_window_seconds = 301
    reachability_schedule_expression  = "soon"
    review_schedule_expression        = "twice a year"
    accounts                          = ["12345"]
    excluded_accounts                 = ["account"]
    max_workers                       = 0
    fan_out_max_concurrency           = 1
    organization_id                   = "org-1"
    event_bus_source_accounts         = ["bus"]
    change_alerts_mode                = "sqs"
    authorized_public_ports           = [70000]
    approved_change_principals        = ["terraform"]
    iac_managed_tag_keys              = ["a,b"]
    slack                             = { channel_id = "#general", create_token_secret = true }
  }

  expect_failures = [
    var.name_prefix,
    var.kms_key_arn,
    var.lambda_runtime,
    var.lambda_architecture,
    var.log_retention_days,
    var.regions,
    var.evidence_prefix,
    var.evidence_retention_days,
    var.evidence_object_lock_mode,
    var.evidence_object_lock_days,
    var.evidence_delete_principal_arns,
    var.existing_alert_topic_arn,
    var.inventory_schedule_expression,
    var.securityhub_control_ids,
    var.securityhub_severities,
    var.owner_slack_ids,
    var.report_schedule_expression,
    var.unused_sg_schedule_expression,
    var.unused_sg_exempt_tag_key,
    var.unused_sg_grace_days,
    var.unused_sg_securityhub_control_ids,
    var.reachability_path_ids,
    var.reachability_paths,
    var.reachability_batch_window_seconds,
    var.reachability_schedule_expression,
    var.review_schedule_expression,
    var.accounts,
    var.excluded_accounts,
    var.max_workers,
    var.fan_out_max_concurrency,
    var.organization_id,
    var.event_bus_source_accounts,
    var.change_alerts_mode,
    var.authorized_public_ports,
    var.approved_change_principals,
    var.iac_managed_tag_keys,
    var.slack,
  ]
}

# The second validation of a variable, or another way to break the first.
run "rejects_invalid_values_2" {
  command = plan

  variables {
    name_prefix                       = "a234567890123456789012345"
    evidence_object_lock_days         = 1.5
    unused_sg_exempt_tag_key          = "k${join("", [for i in range(128) : "x"])}"
    unused_sg_grace_days              = 2.5
    unused_sg_securityhub_control_ids = ["EC2"]
    reachability_paths                = [{ name = "dns", source = "eni-1", destination = "eni-2", protocol = "icmp" }]
    reachability_batch_window_seconds = 1.5
    accounts                          = [for i in range(201) : format("%012d", i)]
    excluded_accounts                 = [for i in range(51) : format("%012d", i)]
    max_workers                       = 65
    fan_out_max_concurrency           = 1001
    authorized_public_ports           = [22.5]
    approved_change_principals        = [for i in range(60) : "arn:aws:iam::123456789012:role/change-pipeline-${i}"]
    iac_managed_tag_keys              = [""]
    slack                             = { channel_id = "C0123456789", token_secret_arn = "my-secret" }
  }

  expect_failures = [
    var.name_prefix,
    var.evidence_object_lock_days,
    var.unused_sg_exempt_tag_key,
    var.unused_sg_grace_days,
    var.unused_sg_securityhub_control_ids,
    var.reachability_paths,
    var.reachability_batch_window_seconds,
    var.accounts,
    var.excluded_accounts,
    var.max_workers,
    var.fan_out_max_concurrency,
    var.authorized_public_ports,
    var.approved_change_principals,
    var.iac_managed_tag_keys,
    var.slack,
  ]
}

run "rejects_invalid_slack_key_and_address" {
  command = plan

  variables {
    slack = { channel_id = "C0123456789", create_token_secret = true, secret_kms_key_arn = "alias/slack" }
  }

  expect_failures = [var.slack]
}

run "rejects_a_slack_api_url_without_https" {
  command = plan

  variables {
    slack = { channel_id = "C0123456789", create_token_secret = true, api_url = "http://slack.example.com/api/" }
  }

  expect_failures = [var.slack]
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

run "rejects_a_path_port_out_of_range" {
  command = plan

  variables {
    reachability_paths = [{ name = "web", source = "eni-1", destination = "eni-2", destination_port = 65536 }]
  }

  expect_failures = [var.reachability_paths]
}

run "rejects_accounts_from_organizations_without_the_organization_id" {
  command = plan

  variables {
    accounts_from_organizations = true
  }

  expect_failures = [data.aws_partition.input_checks]
}
