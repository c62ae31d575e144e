# SG Watch's member footprint for a whole organisation, applied once in the management account or a
# delegated StackSet administrator: two service-managed CloudFormation StackSets with automatic
# deployment to the chosen organisational units, so an account joining them is covered without a
# Terraform run, and one leaving them loses the footprint (unless retain_stacks_on_account_removal).
#
# - <prefix>-member-role: the read-only role of modules/member-role, in ONE region per account
#   (IAM is global: the same role name in two regions would collide).
# - <prefix>-event-forwarder: the forwarder of modules/event-forwarder, in every region of `regions`.
#
# The templates are built here from the same sources as those modules: the member role of
# modules/member-role-definition and the event pattern of modules/sg-change-alerts/event-pattern.json, so
# the StackSet and the Terraform path cannot drift (tests/module/test_organization_members.py
# deploys both and compares them).

data "aws_partition" "current" {}
data "aws_region" "current" {}

# Creates nothing (no alarms): gives the settings every SG Watch alarm shares.
module "alarm_shape" {
  source = "../metric-alarms"

  name   = local.rule_name
  alarms = {}
}

module "member_role" {
  source = "../member-role-definition"

  role = {
    name                    = var.member_role_name
    trusted_role_arns       = var.trusted_role_arns
    organization_id         = var.organization_id
    include_unused_sg_audit = var.include_unused_sg_audit
    max_session_duration    = var.max_session_duration

    remediation_trusted_role_arns = var.remediation_trusted_role_arns
    remediation_role_name         = var.remediation_role_name
  }
}

locals {
  partition   = data.aws_partition.current.partition
  role_region = coalesce(var.role_region, data.aws_region.current.name)

  # Names as modules/event-forwarder gives them; the region and account come from each stack.
  rule_name  = "${var.name_prefix}-sg-changes-forward"
  queue_name = "${local.rule_name}-dlq"
  rule_arn   = "arn:$${AWS::Partition}:events:$${AWS::Region}:$${AWS::AccountId}:rule/${local.rule_name}"
  where      = "$${AWS::AccountId}/$${AWS::Region}"

  boundary = var.permissions_boundary_policy_name == null ? {} : {
    PermissionsBoundary = { "Fn::Sub" = "arn:$${AWS::Partition}:iam::$${AWS::AccountId}:policy/${var.permissions_boundary_policy_name}" }
  }
  # The shape of every SG Watch alarm, from modules/metric-alarms.
  alarm_shape = {
    Period             = module.alarm_shape.shape.period
    EvaluationPeriods  = module.alarm_shape.shape.evaluation_periods
    ComparisonOperator = module.alarm_shape.shape.comparison_operator
    TreatMissingData   = module.alarm_shape.shape.treat_missing_data
  }
  alarm_actions = var.alarm_topic_name == null ? {} : {
    AlarmActions = [{ "Fn::Sub" = "arn:$${AWS::Partition}:sns:$${AWS::Region}:$${AWS::AccountId}:${var.alarm_topic_name}" }]
  }

  member_role = module.member_role.role
  remediation = module.member_role.remediation
  # The policies are scoped to the account applying this module: in the template, each ARN names
  # the account and partition of the stack instead.
  account_policies = merge(
    { read = jsondecode(local.member_role.read_policy_json) },
    local.remediation == null ? {} : { remediation = jsondecode(local.remediation.policy_json) },
  )
  stack_policies = { for name, policy in local.account_policies : name => merge(policy, {
    Statement = [for s in policy.Statement : merge(s, {
      # "*" stays a string, an ARN becomes an Fn::Sub (a tuple indexed: the two differ in type).
      Resource = [for r in flatten([s.Resource]) : [r, {
        "Fn::Sub" = replace(replace(r, "arn:${local.partition}:", "arn:$${AWS::Partition}:"), "/:[0-9]{12}:/", ":$${AWS::AccountId}:")
      }][r == "*" ? 0 : 1]]
    })]
  }) }
  member_read_policy = local.stack_policies.read

  # The opt-in remediation role, beside the member role in the same stack.
  remediation_resources = local.remediation == null ? {} : {
    RemediationRole = {
      Type = "AWS::IAM::Role"
      Properties = merge({
        RoleName                 = local.remediation.name
        AssumeRolePolicyDocument = jsondecode(local.remediation.trust_policy_json)
        Description              = local.remediation.description
        MaxSessionDuration       = 3600
        Policies                 = [{ PolicyName = local.remediation.policy_name, PolicyDocument = local.stack_policies.remediation }]
        Tags                     = [for key, value in local.remediation.tags : { Key = key, Value = value }]
      }, local.boundary)
    }
  }
  remediation_outputs = local.remediation == null ? {} : {
    RemediationRoleArn = { Description = "ARN of the remediation role.", Value = { "Fn::GetAtt" = ["RemediationRole", "Arn"] } }
  }

  member_role_template = {
    AWSTemplateFormatVersion = "2010-09-09"
    Description              = "${local.member_role.description} (modules/member-role)."
    Resources = merge({
      MemberRole = {
        Type = "AWS::IAM::Role"
        Properties = merge({
          RoleName = local.member_role.name
          # The central accounts, pinned to the central functions' roles: no account-specific ARN.
          AssumeRolePolicyDocument = jsondecode(local.member_role.trust_policy_json)
          Description              = local.member_role.description
          MaxSessionDuration       = local.member_role.max_session_duration
          Policies                 = [{ PolicyName = local.member_role.read_policy_name, PolicyDocument = local.member_read_policy }]
          Tags                     = [for key, value in local.member_role.tags : { Key = key, Value = value }]
        }, local.boundary)
      }
    }, local.remediation_resources)
    Outputs = merge({
      RoleArn = { Description = "ARN of the read-only role.", Value = { "Fn::GetAtt" = ["MemberRole", "Arn"] } }
    }, local.remediation_outputs)
  }

  forwarder_tags = [{ Key = "sgwatch:capability", Value = "event-forwarder" }]
  # The forwarder's alarms by logical id, as modules/metric-alarms takes them (the description is an Fn::Sub).
  forwarder_alarms = {
    DeadLettersAlarm = {
      suffix      = "dead-letters"
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = { "Fn::GetAtt" = ["DeadLetterQueue", "QueueName"] } }
      statistic   = "Maximum"
      threshold   = 1
      description = "Security-group changes of ${local.where} were not accepted by the central SG Watch bus and wait in ${local.queue_name}: their alerts are missing. Check the central bus policy, then send them again."
    }
    FailedDeliveriesAlarm = {
      suffix      = "failed-deliveries"
      namespace   = "AWS/Events"
      metric      = "FailedInvocations"
      dimensions  = { RuleName = { Ref = "ForwardRule" } }
      statistic   = "Sum"
      threshold   = 1
      description = "Security-group changes of ${local.where} failed to reach the central SG Watch bus after every retry: they are in ${local.queue_name}, or lost if they could not be written there (InvocationsFailedToBeSentToDlq). Check the central bus policy, the queue policy and key."
    }
  }
  event_forwarder_template = {
    AWSTemplateFormatVersion = "2010-09-09"
    Description              = "SG Watch: forwards security-group API calls to the central bus (modules/event-forwarder)."
    Resources = merge({
      ForwardRole = {
        Type = "AWS::IAM::Role"
        Properties = merge({
          RoleName    = { "Fn::Sub" = "${var.name_prefix}-sg-forward-$${AWS::Region}" }
          Description = { "Fn::Sub" = "SG Watch: EventBridge forwards security-group changes of $${AWS::Region} to the central bus" }
          AssumeRolePolicyDocument = {
            Version = "2012-10-17"
            Statement = [{
              Effect    = "Allow"
              Action    = "sts:AssumeRole"
              Principal = { Service = "events.amazonaws.com" }
              Condition = {
                StringEquals = { "aws:SourceAccount" = { Ref = "AWS::AccountId" } }
                ArnEquals    = { "aws:SourceArn" = { "Fn::Sub" = local.rule_arn } }
              }
            }]
          }
          Policies = [{
            PolicyName = { "Fn::Sub" = "${var.name_prefix}-sg-forward-$${AWS::Region}" }
            PolicyDocument = {
              Version   = "2012-10-17"
              Statement = [{ Sid = "PutEventsOnTheCentralBus", Effect = "Allow", Action = "events:PutEvents", Resource = var.central_event_bus_arn }]
            }
          }]
          Tags = local.forwarder_tags
        }, local.boundary)
      }
      # EventBridge cannot deliver to a queue encrypted with alias/aws/sqs: SSE-SQS.
      DeadLetterQueue = {
        Type = "AWS::SQS::Queue"
        Properties = {
          QueueName              = local.queue_name
          SqsManagedSseEnabled   = true
          MessageRetentionPeriod = var.dlq_message_retention_seconds
          Tags                   = local.forwarder_tags
        }
      }
      DeadLetterQueuePolicy = {
        Type = "AWS::SQS::QueuePolicy"
        Properties = {
          Queues = [{ Ref = "DeadLetterQueue" }]
          PolicyDocument = {
            Version = "2012-10-17"
            Statement = [{
              Sid       = "EventBridgeRuleSends"
              Effect    = "Allow"
              Action    = "sqs:SendMessage"
              Principal = { Service = "events.amazonaws.com" }
              Resource  = { "Fn::GetAtt" = ["DeadLetterQueue", "Arn"] }
              Condition = { ArnEquals = { "aws:SourceArn" = { "Fn::Sub" = local.rule_arn } } }
            }]
          }
        }
      }
      ForwardRule = {
        Type = "AWS::Events::Rule"
        Properties = {
          Name         = local.rule_name
          Description  = "SG Watch: forward security-group API calls (recorded by CloudTrail) to the central bus."
          EventBusName = "default"
          EventPattern = jsondecode(file("${path.module}/../sg-change-alerts/event-pattern.json"))
          State        = "ENABLED"
          Targets = [{
            Id      = "sgwatch-central-bus"
            Arn     = var.central_event_bus_arn
            RoleArn = { "Fn::GetAtt" = ["ForwardRole", "Arn"] }
            RetryPolicy = {
              MaximumRetryAttempts     = var.maximum_retry_attempts
              MaximumEventAgeInSeconds = var.maximum_event_age_in_seconds
            }
            DeadLetterConfig = { Arn = { "Fn::GetAtt" = ["DeadLetterQueue", "Arn"] } }
          }]
        }
        DependsOn = ["DeadLetterQueuePolicy"]
      }
      }, { for id, alarm in local.forwarder_alarms : id => {
        Type = "AWS::CloudWatch::Alarm"
        Properties = merge({
          AlarmName        = "${local.rule_name}-${alarm.suffix}"
          AlarmDescription = { "Fn::Sub" = alarm.description }
          Namespace        = alarm.namespace
          MetricName       = alarm.metric
          Dimensions       = [for name, value in alarm.dimensions : { Name = name, Value = value }]
          Statistic        = alarm.statistic
          Threshold        = alarm.threshold
        }, local.alarm_shape, local.alarm_actions)
    } })
    Outputs = {
      RuleArn            = { Description = "ARN of the forwarding rule.", Value = { "Fn::GetAtt" = ["ForwardRule", "Arn"] } }
      RoleArn            = { Description = "Role EventBridge uses to put the events on the central bus.", Value = { "Fn::GetAtt" = ["ForwardRole", "Arn"] } }
      DeadLetterQueueArn = { Description = "Queue receiving the events the central bus did not accept.", Value = { "Fn::GetAtt" = ["DeadLetterQueue", "Arn"] } }
    }
  }

  templates = {
    member-role     = local.member_role_template
    event-forwarder = local.event_forwarder_template
  }
  regions = {
    member-role     = [local.role_region]
    event-forwarder = var.regions
  }
  # The OUs by a key known at plan: their id, or the name the caller gave them.
  organizational_units = merge({ for id in var.organizational_unit_ids : id => id }, var.organizational_units)

  # One instance per stack set, region and OU: an instance's deployment targets cannot change in place
  # (the provider replaces it, deleting the stacks of every OU it held), so adding an OU only adds its
  # instances and removing one only removes that OU's.
  instances = merge([
    for set, regions in local.regions : merge([
      for region in regions : {
        for key, ou in local.organizational_units : "${set}/${region}/${key}" => { set = set, region = region, ou = ou }
      }
    ]...)
  ]...)
}

resource "aws_cloudformation_stack_set" "this" {
  for_each = local.templates

  name             = "${var.name_prefix}-${each.key}"
  description      = each.value.Description
  permission_model = "SERVICE_MANAGED"
  call_as          = var.call_as
  capabilities     = ["CAPABILITY_NAMED_IAM"]
  template_body    = jsonencode(each.value)
  tags             = var.tags

  auto_deployment {
    enabled                          = true
    retain_stacks_on_account_removal = var.retain_stacks_on_account_removal
  }

  operation_preferences {
    region_concurrency_type      = "PARALLEL"
    max_concurrent_percentage    = var.operation_preferences.max_concurrent_percentage
    failure_tolerance_percentage = var.operation_preferences.failure_tolerance_percentage
  }

  # Without managed execution a stack set runs one operation at a time and refuses the next with
  # OperationInProgressException; Terraform starts the instances of every region and OU at once.
  # Managed, StackSets queues conflicting operations and runs them in order (ManagedExecution,
  # AWS CloudFormation API Reference).
  managed_execution {
    active = true
  }

  # Service-managed stack sets use the service-linked roles; AWS reports an administration role
  # the configuration does not set.
  lifecycle {
    ignore_changes = [administration_role_arn]

    precondition {
      condition     = length(local.organizational_units) > 0
      error_message = "organizational_unit_ids or organizational_units must name at least one OU (ou-abcd-12345678) or the root (r-abcd)."
    }
  }
}

resource "aws_cloudformation_stack_set_instance" "per_ou" {
  for_each = local.instances

  stack_set_name = aws_cloudformation_stack_set.this[each.value.set].name
  region         = each.value.region
  call_as        = var.call_as

  deployment_targets {
    organizational_unit_ids = [each.value.ou]
  }
  # An OU removed from organizational_unit_ids keeps its stacks when retain_stacks_on_account_removal
  # is set, as an account leaving a targeted OU does.
  retain_stack = var.retain_stacks_on_account_removal

  operation_preferences {
    region_concurrency_type      = "PARALLEL"
    max_concurrent_percentage    = var.operation_preferences.max_concurrent_percentage
    failure_tolerance_percentage = var.operation_preferences.failure_tolerance_percentage
  }
}

# Up to 1.0.x one instance per stack set and region held every OU: forgotten, not deleted, so an
# upgrade leaves every member stack in place while the per-OU instances above take them over.
removed {
  from = aws_cloudformation_stack_set_instance.this

  lifecycle {
    destroy = false
  }
}
