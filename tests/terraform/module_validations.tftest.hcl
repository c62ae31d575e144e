# Every validation of the modules the root module calls rejects what it should (expect_failures), on
# the module run on its own: the root hands these inputs on without checking them again (each input
# is checked once, where it is used; tests/unit/test_validations_once.py). Each run sets several
# unrelated invalid variables, each one failing one validation. Offline: the AWS provider is mocked.
# tests/unit/test_docs.py checks that every validation of these modules is pinned here.

mock_provider "aws" {
  source = "./tests/terraform/mocks"
}

run "evidence_bucket_rejects_invalid_values" {
  command = plan

  module {
    source = "./modules/evidence-bucket"
  }

  variables {
    bucket_name           = "sgwatch-evidence-123456789012-us-east-1"
    kms_key_arn           = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    retention_days        = 90
    object_lock_mode      = "LEGAL_HOLD"
    object_lock_days      = 1.5
    delete_principal_arns = ["admin"]
  }

  expect_failures = [
    var.retention_days,
    var.object_lock_mode,
    var.object_lock_days,
    var.delete_principal_arns,
  ]
}

run "securityhub_report_rejects_invalid_values" {
  command = plan

  module {
    source = "./modules/securityhub-report"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      alarm_topic_arn    = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    }
    slack                            = { channel_id = "C0123456789", create_token_secret = true }
    control_ids                      = ["EC2 2"]
    severities                       = ["SEVERE"]
    owner_slack_ids                  = { alice = "alice" }
    slack_token_secret_recovery_days = 3
  }

  expect_failures = [
    var.control_ids,
    var.severities,
    var.owner_slack_ids,
    var.slack_token_secret_recovery_days,
  ]
}

run "unused_sg_audit_rejects_invalid_values_1" {
  command = plan

  module {
    source = "./modules/unused-sg-audit"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    evidence                = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    alert_topic_arn         = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    exempt_tag_key          = " "
    grace_days              = 91
    securityhub_control_ids = []
  }

  expect_failures = [
    var.exempt_tag_key,
    var.grace_days,
    var.securityhub_control_ids,
  ]
}

run "reachability_check_rejects_invalid_values_1" {
  command = plan

  module {
    source = "./modules/reachability-check"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    evidence             = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    alert_topic_arn      = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    event_pattern        = "not json"
    path_ids             = ["nip-xyz"]
    paths                = [{ name = "web", source = "eni-1", destination = "eni-2" }, { name = "web", source = "eni-3", destination = "eni-4" }]
    batch_window_seconds = 301
    timeout              = 30
  }

  expect_failures = [
    var.event_pattern,
    var.path_ids,
    var.paths,
    var.batch_window_seconds,
    var.timeout,
  ]
}

run "reachability_check_rejects_invalid_values_2" {
  command = plan

  module {
    source = "./modules/reachability-check"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    evidence             = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    alert_topic_arn      = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    event_pattern        = "{\"source\": [\"aws.ec2\"]}"
    paths                = [{ name = "dns", source = "eni-1", destination = "eni-2", protocol = "icmp" }]
    batch_window_seconds = 1.5
  }

  expect_failures = [
    var.paths,
    var.batch_window_seconds,
  ]
}

run "reachability_check_rejects_a_path_port_out_of_range" {
  command = plan

  module {
    source = "./modules/reachability-check"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    evidence        = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    alert_topic_arn = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    event_pattern   = "{\"source\": [\"aws.ec2\"]}"
    paths           = [{ name = "web", source = "eni-1", destination = "eni-2", destination_port = 65536 }]
  }

  expect_failures = [var.paths]
}

run "sg_change_alerts_rejects_an_unknown_mode" {
  command = plan

  module {
    source = "./modules/sg-change-alerts"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    alert_topic_arn = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    mode            = "sqs"
  }

  expect_failures = [var.mode]
}

run "event_forwarder_rejects_invalid_values" {
  command = plan

  module {
    source = "./modules/event-forwarder"
  }

  variables {
    name_prefix           = "SgWatch"
    central_event_bus_arn = "arn:aws:events:us-east-1:123456789012:rule/sg-changes"
    event_pattern         = "not json"
    dlq_kms_key_arn       = "alias/aws/sqs"
    alarm_topic_arn       = "arn:aws:sqs:us-east-1:123456789012:alerts"
  }

  expect_failures = [
    var.name_prefix,
    var.central_event_bus_arn,
    var.event_pattern,
    var.dlq_kms_key_arn,
    var.alarm_topic_arn,
  ]
}

run "event_rule_rejects_invalid_values" {
  command = plan

  module {
    source = "./modules/event-rule"
  }

  variables {
    name                          = "sgwatch-test"
    description                   = "test"
    event_pattern                 = "{\"source\": [\"aws.ec2\"]}"
    targets                       = { topic = { arn = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts" } }
    failed_deliveries_description = "test"
    maximum_retry_attempts        = 186
    maximum_event_age_in_seconds  = 59
  }

  expect_failures = [
    var.maximum_retry_attempts,
    var.maximum_event_age_in_seconds,
  ]
}

run "queue_rejects_invalid_values" {
  command = plan

  module {
    source = "./modules/queue"
  }

  variables {
    name                          = "sgwatch-test"
    dead_letters_description      = "test"
    dead_letter_retention_seconds = 1209601
  }

  expect_failures = [var.dead_letter_retention_seconds]
}

# modules/lambda-function: each run breaks one validation of each variable it names (settings, slack and
# accounts hold several).
run "lambda_function_rejects_invalid_values_1" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    name_prefix  = "sgwatch"
    function_key = "sg_inventory"
    capability   = "sg-inventory"
    description  = "test"
    policy_json  = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ec2:DescribeSecurityGroups\",\"Resource\":\"*\"}]}"
    settings = {
      runtime            = "python3.9"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    async_retries           = 3
    schedule                = { expression = "daily" }
    evidence                = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups" }
    slack                   = { token_secret_arn = "my-secret", channel_id = "C0123456789" }
    accounts                = { ids = ["12345"] }
    authorized_public_ports = [70000]
  }

  expect_failures = [
    var.settings,
    var.async_retries,
    var.schedule,
    var.evidence,
    var.slack,
    var.accounts,
    var.authorized_public_ports,
  ]
}

run "lambda_function_rejects_invalid_values_2" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    name_prefix  = "sgwatch"
    function_key = "sg_inventory"
    capability   = "sg-inventory"
    description  = "test"
    policy_json  = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ec2:DescribeSecurityGroups\",\"Resource\":\"*\"}]}"
    settings = {
      runtime            = "python3.13"
      architecture       = "x86"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    slack                   = { token_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sgwatch/slack-bot-token-AbCdEf", channel_id = "#general" }
    accounts                = { ids = [for i in range(201) : format("%012d", i)] }
    authorized_public_ports = [22.5]
  }

  expect_failures = [
    var.settings,
    var.slack,
    var.accounts,
    var.authorized_public_ports,
  ]
}

run "lambda_function_rejects_invalid_values_3" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    name_prefix  = "sgwatch"
    function_key = "sg_inventory"
    capability   = "sg-inventory"
    description  = "test"
    policy_json  = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ec2:DescribeSecurityGroups\",\"Resource\":\"*\"}]}"
    settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 42
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    slack    = { token_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sgwatch/slack-bot-token-AbCdEf", channel_id = "C0123456789", secret_kms_key_arn = "alias/slack" }
    accounts = { member_role_name = "member role" }
  }

  expect_failures = [
    var.settings,
    var.slack,
    var.accounts,
  ]
}

run "lambda_function_rejects_invalid_values_4" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    name_prefix  = "sgwatch"
    function_key = "sg_inventory"
    capability   = "sg-inventory"
    description  = "test"
    policy_json  = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ec2:DescribeSecurityGroups\",\"Resource\":\"*\"}]}"
    settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    slack    = { token_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sgwatch/slack-bot-token-AbCdEf", channel_id = "C0123456789", api_url = "http://slack.example.com/api/" }
    accounts = { max_workers = 0 }
  }

  expect_failures = [
    var.slack,
    var.accounts,
  ]
}

run "lambda_function_rejects_invalid_values_5" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    name_prefix  = "sgwatch"
    function_key = "sg_inventory"
    capability   = "sg-inventory"
    description  = "test"
    policy_json  = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ec2:DescribeSecurityGroups\",\"Resource\":\"*\"}]}"
    settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    accounts = { from_organizations = true, organization_id = "org-1" }
  }

  expect_failures = [
    var.accounts,
  ]
}

run "lambda_function_rejects_invalid_values_6" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    name_prefix  = "sgwatch"
    function_key = "sg_inventory"
    capability   = "sg-inventory"
    description  = "test"
    policy_json  = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ec2:DescribeSecurityGroups\",\"Resource\":\"*\"}]}"
    settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    accounts = { fan_out = true, fan_out_max_concurrency = 1 }
  }

  expect_failures = [
    var.accounts,
  ]
}

run "lambda_function_rejects_invalid_values_7" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    name_prefix  = "sgwatch"
    function_key = "sg_inventory"
    capability   = "sg-inventory"
    description  = "test"
    policy_json  = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ec2:DescribeSecurityGroups\",\"Resource\":\"*\"}]}"
    settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    accounts = { regions = ["EU-WEST-1"] }
  }

  expect_failures = [
    var.accounts,
  ]
}

run "lambda_function_rejects_invalid_values_8" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    name_prefix  = "sgwatch"
    function_key = "review_pack"
    capability   = "review-pack"
    description  = "test"
    policy_json  = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sns:Publish\",\"Resource\":\"*\"}]}"
    settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    timeout     = 901
    memory_size = 64
  }

  expect_failures = [
    var.timeout,
    var.memory_size,
  ]
}

run "review_pack_rejects_invalid_values" {
  command = plan

  module {
    source = "./modules/review-pack"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      alarm_topic_arn    = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    }
    evidence                = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    fan_out                 = true
    fan_out_max_concurrency = 1
  }

  expect_failures = [
    var.fan_out_max_concurrency,
  ]
}

# The rule review's inputs (one variable, four validations: one run each).
run "sg_inventory_rejects_an_invalid_rule_review_tag_keys" {
  command = plan

  module {
    source = "./modules/sg-inventory"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    evidence    = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    rule_review = { tag_keys = { justification = " " } }
  }

  expect_failures = [
    var.rule_review,
  ]
}

run "sg_inventory_rejects_an_invalid_rule_review_warning_days" {
  command = plan

  module {
    source = "./modules/sg-inventory"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    evidence    = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    rule_review = { justification_warning_days = 1.5 }
  }

  expect_failures = [
    var.rule_review,
  ]
}

run "sg_inventory_rejects_an_invalid_rule_review_register" {
  command = plan

  module {
    source = "./modules/sg-inventory"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    evidence    = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    rule_review = { register = { bucket = "arn:aws:s3:::register", key = "rules.csv" } }
  }

  expect_failures = [
    var.rule_review,
  ]
}

run "sg_inventory_rejects_an_invalid_rule_review_register_key" {
  command = plan

  module {
    source = "./modules/sg-inventory"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    evidence    = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    rule_review = { register = { bucket = "register", key = "rules.csv", kms_key_arn = "alias/register" } }
  }

  expect_failures = [
    var.rule_review,
  ]
}

# One run per validation of the remediation input (checked by modules/sg-change-alerts, the notifier every mode
# needs), each failing that one only.

run "remediation_rejects_an_unknown_mode" {
  command = plan

  module {
    source = "./modules/sg-change-alerts"
  }

  variables {
    name_prefix     = "sgwatch"
    lambda_settings = { runtime = "python3.13", architecture = "arm64", log_retention_days = 30, kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
    evidence        = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    alert_topic_arn = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    slack           = { token_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:token", channel_id = "C0123456789" }
    remediation     = { mode = "manual", approvers = ["U0123ABCD"] }
  }

  expect_failures = [var.remediation]
}

run "remediation_rejects_unknown_severity" {
  command = plan

  module {
    source = "./modules/sg-change-alerts"
  }

  variables {
    name_prefix     = "sgwatch"
    lambda_settings = { runtime = "python3.13", architecture = "arm64", log_retention_days = 30, kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
    evidence        = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    alert_topic_arn = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    slack           = { token_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:token", channel_id = "C0123456789" }
    remediation     = { min_severity = "SEVERE", approvers = ["U0123ABCD"] }
  }

  expect_failures = [var.remediation]
}

run "remediation_rejects_approver_names" {
  command = plan

  module {
    source = "./modules/sg-change-alerts"
  }

  variables {
    name_prefix     = "sgwatch"
    lambda_settings = { runtime = "python3.13", architecture = "arm64", log_retention_days = 30, kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
    evidence        = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    alert_topic_arn = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    slack           = { token_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:token", channel_id = "C0123456789" }
    remediation     = { approvers = ["alice"] }
  }

  expect_failures = [var.remediation]
}

run "remediation_rejects_no_approver" {
  command = plan

  module {
    source = "./modules/sg-change-alerts"
  }

  variables {
    name_prefix     = "sgwatch"
    lambda_settings = { runtime = "python3.13", architecture = "arm64", log_retention_days = 30, kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
    evidence        = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    alert_topic_arn = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    slack           = { token_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:token", channel_id = "C0123456789" }
    remediation     = { approvers = [] }
  }

  expect_failures = [var.remediation]
}

run "remediation_rejects_too_many_approvers" {
  command = plan

  module {
    source = "./modules/sg-change-alerts"
  }

  variables {
    name_prefix     = "sgwatch"
    lambda_settings = { runtime = "python3.13", architecture = "arm64", log_retention_days = 30, kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
    evidence        = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    alert_topic_arn = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    slack           = { token_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:token", channel_id = "C0123456789" }
    remediation     = { approvers = [for i in range(100) : format("U%020d", i)] }
  }

  expect_failures = [var.remediation]
}

run "remediation_rejects_exception_days" {
  command = plan

  module {
    source = "./modules/sg-change-alerts"
  }

  variables {
    name_prefix     = "sgwatch"
    lambda_settings = { runtime = "python3.13", architecture = "arm64", log_retention_days = 30, kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
    evidence        = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    alert_topic_arn = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    slack           = { token_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:token", channel_id = "C0123456789" }
    remediation     = { approvers = ["U0123ABCD"], exception_max_days = 400 }
  }

  expect_failures = [var.remediation]
}

# Auto mode needs no approvers and no Slack: the notifier reverts, and says so in the mail.
run "remediation_accepts_auto_mode_without_approvers_or_slack" {
  command = plan

  module {
    source = "./modules/sg-change-alerts"
  }

  variables {
    name_prefix     = "sgwatch"
    lambda_settings = { runtime = "python3.13", architecture = "arm64", log_retention_days = 30, kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
    evidence        = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    alert_topic_arn = "arn:aws:sns:us-east-1:123456789012:sgwatch-alerts"
    remediation     = { mode = "auto" }
  }

  assert {
    condition     = local.auto_revert
    error_message = "Auto mode without Slack does not reach the notifier."
  }
}

run "sg_inventory_rejects_an_invalid_iac_state_location_bucket" {
  command = plan

  module {
    source = "./modules/sg-inventory"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    evidence            = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    iac_state_locations = [{ bucket = "states", key = "a.tfstate", prefix = "apps/" }]
  }

  expect_failures = [
    var.iac_state_locations,
  ]
}

run "sg_inventory_rejects_an_invalid_iac_state_location_kms" {
  command = plan

  module {
    source = "./modules/sg-inventory"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    evidence            = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    iac_state_locations = [{ bucket = "states", key = "a.tfstate", kms_key_arn = "alias/states" }]
  }

  expect_failures = [
    var.iac_state_locations,
  ]
}

run "sg_inventory_rejects_an_invalid_iac_state_location_role" {
  command = plan

  module {
    source = "./modules/sg-inventory"
  }

  variables {
    name_prefix = "sgwatch"
    lambda_settings = {
      runtime            = "python3.13"
      architecture       = "arm64"
      log_retention_days = 30
      kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    }
    evidence            = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    iac_state_locations = [{ bucket = "states", prefix = "apps/", role_arn = "arn:aws:iam::123456789012:user/x" }]
  }

  expect_failures = [
    var.iac_state_locations,
  ]
}

run "evidence_queries_rejects_invalid_values" {
  command = plan

  module {
    source = "./modules/evidence-queries"
  }

  variables {
    name_prefix                    = "sgwatch"
    evidence                       = { bucket_name = "evidence", bucket_arn = "arn:aws:s3:::evidence", prefix = "security-groups/" }
    kms_key_arn                    = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    regions                        = ["us-east-1"]
    results_prefix                 = "sgwatch-query-results/"
    bytes_scanned_cutoff_per_query = 1000
  }

  expect_failures = [
    var.bytes_scanned_cutoff_per_query,
  ]
}
