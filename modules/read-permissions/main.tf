# The read-only calls the inventory (sg_inventory: rules, exposure and rule review) and the unused-group audit
# (unused_sg_audit) make in the account they look at; the change notifier (sg_change_notifier) makes
# the inventory's group and exposure reads in a member account. One document, used by the central
# functions' roles and by the member role (modules/member-role-definition), so the two can never
# drift apart. Creates nothing.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  arn = "arn:${data.aws_partition.current.partition}"
  acc = data.aws_caller_identity.current.account_id

  # Every statement in policy order, with the functions it serves: one dynamic block writes them.
  statements = [
    {
      sid = "DescribeSecurityGroups"
      # Both functions describe the groups; the inventory also reads their rules.
      # Describe calls have no resource-level permissions.
      when      = true
      actions   = concat(["ec2:DescribeSecurityGroups"], var.include_inventory ? ["ec2:DescribeSecurityGroupRules"] : [])
      resources = ["*"]
    },
    {
      sid = "ReadNetworkInterfacesAndLoadBalancers"
      # The inventory's exposure report (which interfaces and load balancers the internet reaches)
      # and the audit's references. Describe calls without resource-level permissions: "*" only.
      when = var.include_inventory || var.include_unused_sg_audit
      actions = concat(
        ["ec2:DescribeNetworkInterfaces", "elasticloadbalancing:DescribeLoadBalancers"],
        var.include_inventory ? [
          "ec2:DescribeRouteTables",
          "elasticloadbalancing:DescribeListeners",
          "ec2:DescribeManagedPrefixLists",
        ] : [],
      )
      resources = ["*"]
    },
    {
      sid = "ReadStaleSecurityGroups"
      # The inventory's rule review: the rules of each VPC that reference a deleted group or a group
      # across a peering that is gone. A Describe call without resource-level permissions: "*" only.
      when      = var.include_inventory
      actions   = ["ec2:DescribeStaleSecurityGroups"]
      resources = ["*"]
    },
    {
      sid = "ReadCloudFormationDrift"
      # The inventory's drift report with iac_cloudformation_drift: the stacks holding security-group resources,
      # a drift detection on those resources and its results. Granted with the inventory's other reads so member
      # roles and the StackSet template have it when the central deployment turns it on. ListStacks and the
      # detection status have no resource-level permissions.
      when      = var.include_inventory
      actions   = ["cloudformation:ListStacks", "cloudformation:DescribeStackDriftDetectionStatus"]
      resources = ["*"]
    },
    {
      sid       = "DetectCloudFormationDrift"
      when      = var.include_inventory
      actions   = ["cloudformation:ListStackResources", "cloudformation:DetectStackDrift", "cloudformation:DescribeStackResourceDrifts"]
      resources = ["${local.arn}:cloudformation:*:*:stack/*/*"]
    },
    {
      sid = "ReadPrefixListEntries"
      # The exposure report rates a customer-managed prefix list by its entries. The call takes
      # prefix-list ARNs; any owner, as a list can be shared with this account.
      when      = var.include_inventory
      actions   = ["ec2:GetManagedPrefixListEntries"]
      resources = ["${local.arn}:ec2:*:*:prefix-list/*"]
    },
    {
      sid = "ReadEc2References"
      # EC2 Describe* calls have no resource-level permissions: "*" is the only valid resource.
      when = var.include_unused_sg_audit
      actions = [
        "ec2:DescribeLaunchTemplates",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:DescribeVpcPeeringConnections",
        "ec2:DescribeTransitGatewayVpcAttachments",
      ]
      resources = ["*"]
    },
    {
      sid = "ReadServiceConfigurations"
      # Account-wide List/Describe calls without resource-level permissions: "*" is the only
      # valid resource. cloudtrail:LookupEvents reads this account's own event history (when
      # a group was created, for the grace period), so it is a member-account call too.
      when = var.include_unused_sg_audit
      actions = [
        "autoscaling:DescribeLaunchConfigurations",
        "lambda:ListFunctions",
        "ecs:ListClusters",
        "ecs:ListServices",
        "events:ListEventBuses",
        "events:ListRules",
        "scheduler:ListSchedules",
        "codebuild:ListProjects",
        "batch:DescribeComputeEnvironments",
        "redshift:DescribeClusters",
        "dms:DescribeReplicationInstances",
        "kafka:ListClustersV2",
        "sagemaker:ListNotebookInstances",
        "cloudtrail:LookupEvents",
      ]
      resources = ["*"]
    },
    {
      sid = "ReadServiceConfigurationsOfThisAccount"
      # Read-only calls that support resource-level permissions: any resource of this
      # account, in any region (the resources are only found at run time).
      when = var.include_unused_sg_audit
      actions = [
        "ec2:DescribeSecurityGroupReferences",
        "ecs:DescribeServices",
        "events:ListTargetsByRule",
        "scheduler:GetSchedule",
        "codebuild:BatchGetProjects",
        "glue:GetConnections",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "elasticache:DescribeCacheClusters",
        "sagemaker:DescribeNotebookInstance",
        "elasticfilesystem:DescribeFileSystems",
        "elasticfilesystem:DescribeMountTargets",
        "elasticfilesystem:DescribeMountTargetSecurityGroups",
      ]
      resources = [
        "${local.arn}:ec2:*:${local.acc}:security-group/*",
        "${local.arn}:ecs:*:${local.acc}:service/*",
        "${local.arn}:events:*:${local.acc}:rule/*",
        "${local.arn}:scheduler:*:${local.acc}:schedule/*",
        "${local.arn}:codebuild:*:${local.acc}:project/*",
        "${local.arn}:glue:*:${local.acc}:catalog",
        "${local.arn}:glue:*:${local.acc}:connection/*",
        "${local.arn}:rds:*:${local.acc}:db:*",
        "${local.arn}:rds:*:${local.acc}:cluster:*",
        "${local.arn}:elasticache:*:${local.acc}:cluster:*",
        "${local.arn}:sagemaker:*:${local.acc}:notebook-instance/*",
        "${local.arn}:elasticfilesystem:*:${local.acc}:file-system/*",
      ]
    },
  ]
}

data "aws_iam_policy_document" "read" {
  dynamic "statement" {
    for_each = [for s in local.statements : s if s.when]
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}
