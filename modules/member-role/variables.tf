# Validated by modules/member-role-definition, which modules/organization-members shares.

variable "name" {
  description = "Name of the role. The central functions assume arn:PARTITION:iam::ACCOUNT:role/NAME in every account, so it must equal the root module's member_role_name in every member account."
  type        = string
  default     = "sgwatch-member-read"
}

variable "trusted_role_arns" {
  description = "Execution roles of the central functions (values of the root output function_role_arns) allowed to assume this role. Nothing else may."
  type        = list(string)
}

variable "organization_id" {
  description = "AWS Organizations id (o-...); when set, the caller must also belong to this organisation (aws:PrincipalOrgID). null adds no such condition."
  type        = string
  default     = null
}

variable "include_unused_sg_audit" {
  description = "Grant the reads of the unused-group audit (network interfaces, launch templates, Lambda, ECS, RDS...). Turn off when the central audit is disabled: the role then reads security groups and their exposure only."
  type        = bool
  default     = true
}

variable "max_session_duration" {
  description = "Maximum session duration in seconds (3600-43200). The functions ask for the default hour."
  type        = number
  default     = 3600
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the role (landing zones often require one); null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to the role."
  type        = map(string)
  default     = {}
}

variable "remediation_trusted_role_arns" {
  description = "Opt-in remediation role: the central execution roles (root output remediation_trusted_role_arns: the remediation function's and, in auto mode, the change notifier's) allowed to assume a second role, remediation_role_name, that may only revoke and modify security-group rules (and read them first). Empty (default) creates no such role."
  type        = list(string)
  default     = []
}

variable "remediation_role_name" {
  description = "Name of the remediation role; the central function assumes arn:PARTITION:iam::ACCOUNT:role/NAME (the root module names it sgwatch-member-remediation)."
  type        = string
  default     = "sgwatch-member-remediation"
}
