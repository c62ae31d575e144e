module "read_permissions" {
  source = "../read-permissions"

  include_unused_sg_audit = false
}

module "function" {
  source = "../lambda-function"

  name_prefix  = var.name_prefix
  capability   = "sg-inventory"
  function_key = "sg_inventory"
  description  = "SG Watch: snapshot every security-group rule to the evidence bucket, diff it, report exposure."
  settings     = var.lambda_settings
  # DescribeSecurityGroups and DescribeSecurityGroupRules, and the exposure reads (network interfaces,
  # route tables, load balancers), as the member accounts' role has them.
  policy_json = module.read_permissions.policy_json
  timeout     = 900
  memory_size = 512
  accounts    = merge(var.accounts, { regions = var.regions })

  # Reads the previous snapshots; writes only its own key kinds (never reviews/, events/ or
  # another capability's records).
  evidence = merge(var.evidence, { write = ["*/snapshots/*", "*/snapshot-groups/*", "*/diffs/*", "*/claims/*", "*/exposure/*", "*/rule-review/*"] })

  authorized_public_ports = var.authorized_public_ports

  schedule = {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
  }
}
