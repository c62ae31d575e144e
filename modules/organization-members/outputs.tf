output "stack_set_names" {
  description = "Names of the stack sets: member_role (one region per account) and event_forwarder (every region of regions)."
  value = {
    member_role     = aws_cloudformation_stack_set.this["member-role"].name
    event_forwarder = aws_cloudformation_stack_set.this["event-forwarder"].name
  }
}

output "stack_set_arns" {
  description = "ARNs of the stack sets (member_role, event_forwarder)."
  value = {
    member_role     = aws_cloudformation_stack_set.this["member-role"].arn
    event_forwarder = aws_cloudformation_stack_set.this["event-forwarder"].arn
  }
}

output "stack_instances" {
  description = "Accounts and stack ids each stack set reached, by \"<stack set>/<region>\" (accounts that join the OUs later are deployed automatically and appear after the next refresh)."
  # One instance per OU: their summaries grouped back by stack set and region.
  value = {
    for key, instances in {
      for key, instance in aws_cloudformation_stack_set_instance.per_ou : "${local.instances[key].set}/${local.instances[key].region}" => instance.stack_instance_summaries...
    } : key => flatten(instances)
  }
}

output "member_role_name" {
  description = "Name of the read-only role in every member account (the root module's member_role_name)."
  value       = var.member_role_name
}

output "member_role_template" {
  description = "CloudFormation template (JSON) of the member role, as deployed by the stack set: also usable on its own, e.g. by Customizations for Control Tower."
  value       = aws_cloudformation_stack_set.this["member-role"].template_body
}

output "event_forwarder_template" {
  description = "CloudFormation template (JSON) of the event forwarder of one account and region, as deployed by the stack set."
  value       = aws_cloudformation_stack_set.this["event-forwarder"].template_body
}
