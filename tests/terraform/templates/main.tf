# modules/organization-members with every optional part on (alarm topic, permissions boundary,
# organisation condition, remediation role): planned against the local emulator by cfn_templates.py, which writes the
# two templates it builds for cfn-lint (make cfn-lint). provider.tf: the emulator's (tests/module/terraform).

module "organization_members" {
  source = "../../../modules/organization-members"

  organizational_unit_ids          = ["ou-abcd-12345678"]
  regions                          = ["us-east-1", "eu-west-1"]
  trusted_role_arns                = ["arn:aws:iam::111122223333:role/sgwatch-sg-inventory", "arn:aws:iam::111122223333:role/sgwatch-unused-sg-audit"]
  organization_id                  = "o-abcd123456"
  central_event_bus_arn            = "arn:aws:events:us-east-1:111122223333:event-bus/sgwatch-security-groups"
  alarm_topic_name                 = "aws-controltower-SecurityNotifications"
  permissions_boundary_policy_name = "landing-zone-boundary"
  remediation_trusted_role_arns    = ["arn:aws:iam::111122223333:role/sgwatch-remediation"]
}
