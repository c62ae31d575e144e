variable "name" {
  description = "Name of the role. The central functions assume arn:PARTITION:iam::ACCOUNT:role/NAME in every account, so it must equal the root module's member_role_name in every member account."
  type        = string
  default     = "sgwatch-member-read"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be an IAM role name: 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "trusted_role_arns" {
  description = "Execution roles of the central functions (values of the root output function_role_arns) allowed to assume this role. Nothing else may."
  type        = list(string)

  validation {
    condition     = length(var.trusted_role_arns) > 0
    error_message = "trusted_role_arns must name at least one central role."
  }

  validation {
    condition     = alltrue([for arn in var.trusted_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", arn))])
    error_message = "trusted_role_arns must be IAM role ARNs without wildcards (arn:aws:iam::123456789012:role/NAME)."
  }
}

variable "organization_id" {
  description = "AWS Organizations id (o-...); when set, the caller must also belong to this organisation (aws:PrincipalOrgID). null adds no such condition."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", coalesce(var.organization_id, "-")))
    error_message = "organization_id must look like o-abcd123456."
  }
}

variable "include_unused_sg_audit" {
  description = "Grant the reads of the unused-group audit (network interfaces, launch templates, Lambda, ECS, RDS...). Turn off when the central audit is disabled: the role then reads security groups only."
  type        = bool
  default     = true
}

variable "max_session_duration" {
  description = "Maximum session duration in seconds (3600-43200). The functions ask for the default hour."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
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
