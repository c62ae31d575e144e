# The StackSet path: instead of a Terraform run per member account and region (main.tf's
# member_read_role and member_forwarder, repeated for each account), one apply creates two
# service-managed StackSets that deploy the member role and the event forwarders to every account of
# the chosen OUs, and to each account that joins them later. Applied here from the central account
# registered as a delegated StackSet administrator (call_as = "DELEGATED_ADMIN"); from the management
# account, call_as = "SELF". Off until stackset_organizational_unit_ids names an OU.

module "organization_members" {
  source = "../../modules/organization-members"
  count  = length(var.stackset_organizational_unit_ids) > 0 ? 1 : 0

  name_prefix             = var.name_prefix
  call_as                 = var.stackset_call_as
  organizational_unit_ids = var.stackset_organizational_unit_ids
  regions                 = [var.region, var.secondary_region]
  role_region             = var.region

  member_role_name      = var.member_role_name
  trusted_role_arns     = values(module.sgwatch.function_role_arns)
  organization_id       = var.organization_id
  central_event_bus_arn = module.sgwatch.event_bus_arn
  alarm_topic_name      = var.stackset_alarm_topic_name
  tags                  = var.tags
}
