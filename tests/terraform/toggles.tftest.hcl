# Each toggle off creates none of its resources (the module call has no instance) and its outputs
# are null or leave it out; names stay within AWS limits at the longest accepted name_prefix.
# Offline: the AWS provider is mocked.

mock_provider "aws" {
  source = "./tests/terraform/mocks"
}

run "off_by_default_securityhub_report_reachability_check_slack_event_bus" {
  command = plan

  assert {
    condition     = length(module.securityhub_report) == 0 && !contains(keys(output.lambda_function_names), "securityhub_report")
    error_message = "The Security Hub report is off by default."
  }
  assert {
    condition     = length(module.reachability_check) == 0 && output.reachability_path_ids == null
    error_message = "The reachability guard is off by default and reachability_path_ids is null."
  }
  assert {
    condition     = length(aws_secretsmanager_secret.slack_token) == 0 && output.slack_token_secret_arn == null
    error_message = "Without slack there is no token secret and slack_token_secret_arn is null."
  }
  assert {
    condition     = length(aws_cloudwatch_event_bus.central) == 0 && length(aws_cloudwatch_event_bus_policy.central) == 0
    error_message = "No central event bus unless create_event_bus."
  }
  assert {
    condition     = alltrue([for q in values(output.fan_out_queues) : q == null])
    error_message = "Without fan_out there are no work queues."
  }
  assert {
    condition     = length(module.remediation) == 0 && output.remediation_interaction_url == null && output.remediation_signing_secret_arn == null
    error_message = "Remediation is off by default: no function URL, no signing secret."
  }
  assert {
    condition     = length(output.remediation_trusted_role_arns) == 0
    error_message = "Without remediation no role is to be trusted by a member account's remediation role."
  }
}

# Remediation on: the function behind its URL, the empty signing secret, and the notifier's Revert policy.
run "remediation_on" {
  command = plan

  variables {
    slack                      = { channel_id = "C0123456789", create_token_secret = true }
    approved_change_principals = ["arn:aws:iam::*:role/terraform-pipeline"]
    remediation                = { approvers = ["U0123ABCD"] }
  }

  assert {
    condition     = module.remediation[0].function_name == "sgwatch-remediation" && output.lambda_function_names["remediation"] == "sgwatch-remediation"
    error_message = "Remediation deploys sgwatch-remediation, listed in lambda_function_names."
  }
}

# Every capability on by default turned off at once (the review pack follows the inventory by default).
run "capabilities_off" {
  command = plan

  variables {
    enable_sg_inventory    = false
    enable_change_alerts   = false
    enable_unused_sg_audit = false
  }

  assert {
    condition     = alltrue([for instances in [module.sg_inventory, module.sg_change_alerts, module.unused_sg_audit, module.review_pack] : length(instances) == 0])
    error_message = "A capability turned off creates none of its resources, and the review pack follows the inventory."
  }
  assert {
    condition     = length(merge(output.lambda_function_names, output.function_role_arns, output.fan_out_queues)) == 0 && output.change_alerts_dead_letter_queue_url == null
    error_message = "A capability turned off is left out of every output, and change_alerts_dead_letter_queue_url is null."
  }
}

run "review_pack_off" {
  command = plan

  variables {
    enable_review_pack = false
  }

  assert {
    condition     = length(module.review_pack) == 0 && !contains(keys(output.lambda_function_names), "review_pack")
    error_message = "enable_review_pack = false creates no review-pack resources and leaves it out of the outputs."
  }
  assert {
    condition     = alltrue([for instances in [module.sg_inventory, module.sg_change_alerts, module.unused_sg_audit] : length(instances) == 1])
    error_message = "The other capabilities stay on."
  }
}

run "existing_bucket_topic_and_key" {
  command = plan

  variables {
    existing_evidence_bucket_name = "landing-zone-evidence"
    existing_alert_topic_arn      = "arn:aws:sns:us-east-1:123456789012:security-alerts"
    kms_key_arn                   = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = length(module.evidence_bucket) == 0 && output.evidence_bucket_name == "landing-zone-evidence"
    error_message = "An existing evidence bucket is used, none created."
  }
  assert {
    condition     = length(module.alert_topic) == 0 && output.alert_topic_arn == "arn:aws:sns:us-east-1:123456789012:security-alerts"
    error_message = "An existing alert topic is used, none created."
  }
  assert {
    condition     = length(aws_kms_key.this) == 0 && length(terraform_data.key_destroy_protection) == 0 && output.key_guard_topic_arn == null
    error_message = "With kms_key_arn no key and no key guard are created, and key_guard_topic_arn is null."
  }
}

# The longest accepted name_prefix (24 characters), every capability on.
run "names_within_aws_limits_at_the_longest_name_prefix" {
  command = plan

  variables {
    name_prefix               = "a23456789012345678901234"
    enable_securityhub_report = true
    enable_reachability_check = true
    reachability_path_ids     = ["nip-0b26f224f1d131fa8"]
    fan_out                   = true
    create_event_bus          = true
    accounts                  = ["111122223333"]
    slack                     = { channel_id = "C0123456789", create_token_secret = true }
  }

  assert {
    condition     = length(output.lambda_function_names) == 6
    error_message = "Every capability is on."
  }
  # Lambda function and IAM role names: 64 characters; the scheduler's role is <function>-scheduler
  # (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html,
  # https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html).
  assert {
    condition     = alltrue([for name in values(output.lambda_function_names) : length("${name}-scheduler") <= 64])
    error_message = "A function or role name exceeds 64 characters."
  }
  # SQS queue names: 80 characters; the longest is a work queue's dead-letter queue <function>-work-dlq
  # (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
  assert {
    condition     = alltrue([for name in values(output.lambda_function_names) : length("${name}-work-dlq") <= 80])
    error_message = "A queue name exceeds 80 characters."
  }
}

# The Security Hub report gets Slack like every other capability: the one secret of the root's slack
# input (created in slack.tf), none of its own.
run "securityhub_report_reads_the_root_slack_secret" {
  command = plan

  variables {
    enable_sg_inventory       = false
    enable_unused_sg_audit    = false
    enable_change_alerts      = false
    enable_review_pack        = false
    enable_securityhub_report = true
    slack                     = { channel_id = "C0123456789", create_token_secret = true }
  }

  override_resource {
    target          = aws_secretsmanager_secret.slack_token
    override_during = plan
    values          = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sgwatch/slack-bot-token-AbCdEf" }
  }

  assert {
    condition     = length(aws_secretsmanager_secret.slack_token) == 1 && module.securityhub_report[0].slack_token_secret_arn == aws_secretsmanager_secret.slack_token[0].arn
    error_message = "The report reads the root's one Slack token secret."
  }
  assert {
    condition     = output.slack_token_secret_arn == aws_secretsmanager_secret.slack_token[0].arn
    error_message = "slack_token_secret_arn is the root's secret."
  }
}

# Called on its own, the module still honours the deprecated slack.create_token_secret and
# slack_token_secret_recovery_days (removed in 3.0.0): its own secret, at the address it always had.
run "securityhub_report_on_its_own_keeps_the_deprecated_token_secret" {
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
    }
    slack                            = { channel_id = "C0123456789", create_token_secret = true }
    slack_token_secret_recovery_days = 0
  }

  override_resource {
    target          = aws_secretsmanager_secret.slack_token
    override_during = plan
    values          = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:sgwatch/securityhub-report/slack-token-AbCdEf" }
  }

  assert {
    condition     = aws_secretsmanager_secret.slack_token[0].recovery_window_in_days == 0 && output.slack_token_secret_arn == aws_secretsmanager_secret.slack_token[0].arn
    error_message = "The deprecated create_token_secret still creates the module's secret with the recovery window given."
  }
}
