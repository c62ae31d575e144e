variable "region" {
  description = "Home region: the central functions, bus and evidence bucket live here."
  type        = string
  default     = "us-east-1"
}

variable "secondary_region" {
  description = "A second region covered by the inventory, whose changes are forwarded to the home region."
  type        = string
  default     = "us-west-2"
}

variable "member_alarm_topic_arn" {
  description = "SNS topic of the member account (home region) notified when its changes cannot reach the central bus, e.g. the landing zone's security notification topic; null creates the alarms without an action."
  type        = string
  default     = null
}

variable "secondary_alarm_topic_arn" {
  description = "SNS topic of the central account in the second region notified when its changes cannot reach the central bus; null creates the alarms without an action."
  type        = string
  default     = null
}

variable "member_account_id" {
  description = "The member account to watch."
  type        = string
  default     = "222222222222"

  validation {
    condition     = can(regex("^[0-9]{12}$", var.member_account_id))
    error_message = "member_account_id must be a 12-digit account id."
  }
}

variable "member_admin_role_name" {
  description = "Role Terraform assumes in the member account to deploy its footprint (Organizations creates OrganizationAccountAccessRole in new accounts; Control Tower uses AWSControlTowerExecution)."
  type        = string
  default     = "OrganizationAccountAccessRole"
}

variable "member_role_name" {
  description = "Name of the read-only role the central functions assume in every account."
  type        = string
  default     = "sgwatch-member-read"
}

variable "fan_out" {
  description = "Spread the inventory and the audit over an SQS work queue, one queued run per (account, region) pair."
  type        = bool
  default     = true
}

variable "organization_id" {
  description = "AWS Organizations id (o-...): the member roles then also require the caller to be in it; null for none."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "sgwatch-org"
}

variable "tags" {
  description = "Tags of the member-account resources."
  type        = map(string)
  default     = { Owner = "security" }
}

variable "evidence_force_destroy" {
  description = "A throwaway deployment (demos and tests only): allow destroying a non-empty evidence bucket, and turn off the destroy protection of the bucket and its key."
  type        = bool
  default     = false
}

variable "stackset_organizational_unit_ids" {
  description = "OUs (ou-...) or the root (r-...) whose accounts get the member role and the forwarders through StackSets (stacksets.tf); empty: the StackSet path is off."
  type        = list(string)
  default     = []
}

variable "stackset_call_as" {
  description = "DELEGATED_ADMIN when the central account is a delegated StackSet administrator; SELF when this example is applied in the management account."
  type        = string
  default     = "DELEGATED_ADMIN"
}

variable "stackset_alarm_topic_name" {
  description = "SNS topic present in every member account and region that the forwarders' alarms notify (e.g. aws-controltower-SecurityNotifications); null for alarms without an action."
  type        = string
  default     = null
}
