data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  name       = "${var.name_prefix}-reachability"
  capability = "reachability-check"
  tags       = merge(try(var.lambda_settings.tags, {}), { "sgwatch:capability" = local.capability })

  path_ids  = distinct(concat(var.path_ids, [for p in aws_ec2_network_insights_path.this : p.id]))
  path_arns = [for id in local.path_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-insights-path/${id}"]
  # The last known state of each path: {prefix}{account}/{region}/reachability/, read and written.
  state_keys = "${local.account_id}/${local.region}/reachability/*"
}

# ---------------------------------------------------------------- paths

resource "aws_ec2_network_insights_path" "this" {
  for_each = { for p in var.paths : p.name => p }

  source           = each.value.source
  destination      = each.value.destination
  protocol         = each.value.protocol
  destination_port = each.value.destination_port
  source_ip        = each.value.source_ip
  destination_ip   = each.value.destination_ip
  tags             = merge(local.tags, { Name = each.key })
}

# ---------------------------------------------------------------- debounce queue

# Records that failed repeatedly (malformed events, persistent throttling) or that EventBridge
# could not deliver end up in its dead-letter queue: someone should look.
module "events_queue" {
  source = "../queue"

  name            = "${local.name}-events"
  kms_key_arn     = var.lambda_settings.kms_key_arn
  alarm_topic_arn = try(var.lambda_settings.alarm_topic_arn, null)
  tags            = local.tags
  event_rule_arns = [module.sg_changes_rule.arn]
  source_queue = {
    message_retention_seconds = 345600
    # AWS advises at least six times the function timeout for an SQS event source.
    visibility_timeout_seconds = 6 * var.timeout
    max_receive_count          = 5
  }
  dead_letters_description = "SG change events for the reachability guard landed in ${local.name}-events-dlq; paths may not have been re-checked."
}

moved {
  from = aws_sqs_queue.events
  to   = module.events_queue.aws_sqs_queue.this[0]
}

moved {
  from = aws_sqs_queue.dlq
  to   = module.events_queue.aws_sqs_queue.dead_letters
}

moved {
  from = aws_sqs_queue_policy.events
  to   = module.events_queue.aws_sqs_queue_policy.event_rule["source"]
}

moved {
  from = aws_sqs_queue_policy.dlq
  to   = module.events_queue.aws_sqs_queue_policy.event_rule["dead_letters"]
}

# Only changes made where the paths are checked: this account and region (the function's,
# which describes and analyses the paths there). On a central bus receiving every member's
# changes, an event from elsewhere cannot affect these paths, and one that names its group
# only by name would otherwise cost an analysis of every path (about USD 0.10 each).
locals {
  event_pattern = jsonencode(merge(jsondecode(var.event_pattern), {
    account = [local.account_id]
    region  = [local.region]
  }))
}

module "sg_changes_rule" {
  source = "../event-rule"

  name                          = "${local.name}-sg-changes"
  description                   = "SG Watch: security-group changes that may block a required network path."
  event_bus_name                = var.event_bus_name
  event_pattern                 = local.event_pattern
  tags                          = local.tags
  targets                       = { "reachability-queue" = { arn = module.events_queue.arn } }
  dead_letter_arn               = module.events_queue.dead_letter_queue_arn
  maximum_retry_attempts        = 10
  maximum_event_age_in_seconds  = 3600
  alarm_topic_arn               = try(var.lambda_settings.alarm_topic_arn, null)
  failed_deliveries_description = "Rule ${local.name}-sg-changes could not deliver security-group changes to ${module.events_queue.name} after every retry (queue policy or key): paths may not have been re-checked."
}

moved {
  from = aws_cloudwatch_event_rule.sg_changes
  to   = module.sg_changes_rule.aws_cloudwatch_event_rule.this
}

moved {
  from = aws_cloudwatch_event_target.queue
  to   = module.sg_changes_rule.aws_cloudwatch_event_target.this["reachability-queue"]
}

moved {
  from = module.alarms.aws_cloudwatch_metric_alarm.this["sg-changes-failed-deliveries"]
  to   = module.sg_changes_rule.module.alarms.aws_cloudwatch_metric_alarm.this["failed-deliveries"]
}

moved {
  from = aws_cloudwatch_metric_alarm.dead_letters
  to   = module.alarms.aws_cloudwatch_metric_alarm.this["events-dead-letters"]
}

moved {
  from = module.alarms.aws_cloudwatch_metric_alarm.this["events-dead-letters"]
  to   = module.events_queue.module.alarms.aws_cloudwatch_metric_alarm.this["dead-letters"]
}

# ---------------------------------------------------------------- function

data "aws_iam_policy_document" "function" {
  dynamic "statement" {
    for_each = length(local.path_ids) > 0 ? [1] : []
    content {
      sid     = "StartAnalysesOfTheConfiguredPaths"
      actions = ["ec2:StartNetworkInsightsAnalysis"]
      resources = concat(
        local.path_arns,
        ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-insights-analysis/*"],
      )
    }
  }

  statement {
    sid = "ReadPathsAnalysesAndInterfaces"
    # Describe calls have no resource-level permissions.
    actions = [
      "ec2:DescribeNetworkInsightsAnalyses",
      "ec2:DescribeNetworkInsightsPaths",
      "ec2:DescribeNetworkInterfaces",
    ]
    resources = ["*"]
  }

  statement {
    sid = "AnalyzerReadsPathComponents"
    # Reachability Analyzer evaluates a path with the caller's permissions: it must read every
    # component a path can traverse (the read-only part of AWS's
    # AmazonVPCReachabilityAnalyzerFullAccessPolicy, without create/delete/tag or cross-account).
    # These actions have no resource-level permissions; tiros is the analyzer's backend.
    actions = [
      "directconnect:DescribeVirtualGateways",
      "ec2:DescribeAddresses",
      "ec2:DescribeAvailabilityZones",
      "ec2:DescribeCustomerGateways",
      "ec2:DescribeInstances",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeManagedPrefixLists",
      "ec2:DescribeNatGateways",
      "ec2:DescribeNetworkAcls",
      "ec2:DescribePrefixLists",
      "ec2:DescribeRegions",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeTransitGatewayAttachments",
      "ec2:DescribeTransitGatewayConnects",
      "ec2:DescribeTransitGatewayPeeringAttachments",
      "ec2:DescribeTransitGatewayPolicyTables",
      "ec2:DescribeTransitGatewayRouteTables",
      "ec2:DescribeTransitGateways",
      "ec2:DescribeTransitGatewayVpcAttachments",
      "ec2:DescribeVpcEndpoints",
      "ec2:DescribeVpcEndpointServiceConfigurations",
      "ec2:DescribeVpcPeeringConnections",
      "ec2:DescribeVpcs",
      "ec2:DescribeVpnConnections",
      "ec2:DescribeVpnGateways",
      "ec2:GetTransitGatewayRouteTablePropagations",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "globalaccelerator:ListAccelerators",
      "globalaccelerator:ListCustomRoutingAccelerators",
      "network-firewall:ListRuleGroups",
      "tiros:CreateQuery",
      "tiros:GetQueryAnswer",
      "tiros:GetQueryExplanation",
    ]
    resources = ["*"]
  }

  statement {
    sid = "AnalyzerReadsScopedPathComponents"
    # The same need, for actions that accept resource ARNs: any owner (AWS-managed prefix
    # lists and rule groups, shared transit gateways), this region where resources are regional.
    actions = [
      "directconnect:DescribeConnections",
      "directconnect:DescribeDirectConnectGatewayAssociations",
      "directconnect:DescribeDirectConnectGatewayAttachments",
      "directconnect:DescribeDirectConnectGateways",
      "directconnect:DescribeVirtualInterfaces",
      "ec2:GetManagedPrefixListEntries",
      "ec2:GetTransitGatewayPolicyTableAssociations",
      "ec2:GetTransitGatewayPolicyTableEntries",
      "ec2:SearchTransitGatewayRoutes",
      "globalaccelerator:ListCustomRoutingEndpointGroups",
      "globalaccelerator:ListCustomRoutingListeners",
      "globalaccelerator:ListCustomRoutingPortMappings",
      "globalaccelerator:ListEndpointGroups",
      "globalaccelerator:ListListeners",
      "network-firewall:DescribeFirewall",
      "network-firewall:DescribeFirewallMetadata",
      "network-firewall:DescribeFirewallPolicy",
      "network-firewall:DescribeResourcePolicy",
      "network-firewall:DescribeRuleGroup",
      "network-firewall:ListFirewallPolicies",
      "network-firewall:ListFirewalls",
    ]
    resources = [
      "arn:${local.partition}:directconnect:${local.region}:*:dxcon/*",
      "arn:${local.partition}:directconnect:${local.region}:*:dxlag/*",
      "arn:${local.partition}:directconnect:${local.region}:*:dxvif/*",
      "arn:${local.partition}:directconnect::*:dx-gateway/*",
      "arn:${local.partition}:ec2:${local.region}:*:prefix-list/*",
      "arn:${local.partition}:ec2:${local.region}:*:transit-gateway-policy-table/*",
      "arn:${local.partition}:ec2:${local.region}:*:transit-gateway-route-table/*",
      "arn:${local.partition}:globalaccelerator::*:accelerator/*",
      "arn:${local.partition}:network-firewall:${local.region}:*:firewall/*",
      "arn:${local.partition}:network-firewall:${local.region}:*:firewall-policy/*",
      "arn:${local.partition}:network-firewall:${local.region}:*:stateful-rulegroup/*",
      "arn:${local.partition}:network-firewall:${local.region}:*:stateless-rulegroup/*",
      "arn:${local.partition}:network-firewall:${local.region}:*:tls-configuration/*",
    ]
  }

  statement {
    sid       = "PublishAlerts"
    actions   = ["sns:Publish"]
    resources = [var.alert_topic_arn]
  }
}

module "function" {
  source = "../lambda-function"

  name_prefix  = var.name_prefix
  capability   = local.capability
  function_key = "reachability_check"
  description  = "SG Watch: re-check required network paths with VPC Reachability Analyzer after SG changes."
  settings     = var.lambda_settings
  policy_json  = data.aws_iam_policy_document.function.json
  timeout      = var.timeout
  memory_size  = 256

  slack    = var.slack
  evidence = merge(var.evidence, { read = [local.state_keys], write = [local.state_keys] })

  environment = {
    PATH_IDS        = join(",", local.path_ids)
    ALERT_TOPIC_ARN = var.alert_topic_arn
  }

  schedule = var.schedule_expression == null ? null : {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
    input      = jsonencode({ source = "sgwatch.schedule", action = "check-all-paths" })
  }

  # The debounced changes; at most two batches at once (the minimum SQS allows): analyses cost money.
  event_queue = {
    arn                     = module.events_queue.arn
    batch_size              = 1000
    batching_window_seconds = var.batch_window_seconds
    maximum_concurrency     = 2
  }
}

moved {
  from = aws_lambda_event_source_mapping.events
  to   = module.function.aws_lambda_event_source_mapping.queue["events"]
}
