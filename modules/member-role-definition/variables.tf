variable "role" {
  description = "The member role: its name (the root module's member_role_name), the execution roles of the central functions allowed to assume it (the root output function_role_arns; nothing else may), the AWS Organizations id the callers must belong to (aws:PrincipalOrgID; null for no such condition), whether it grants the reads of the unused-group audit (off: security groups and exposure only), its maximum session duration in seconds, and the opt-in remediation role: the execution roles allowed to assume it (root output remediation_trusted_role_arns: the remediation function's and, in auto mode, the change notifier's; empty: no such role) and its name."
  type = object({
    name                    = string
    trusted_role_arns       = list(string)
    organization_id         = optional(string)
    include_unused_sg_audit = optional(bool, true)
    max_session_duration    = optional(number, 3600)
    # The opt-in remediation role: the central roles of root output remediation_trusted_role_arns may
    # assume it; empty creates none.
    remediation_trusted_role_arns = optional(list(string), [])
    remediation_role_name         = optional(string, "sgwatch-member-remediation")
  })

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role.name))
    error_message = "The member role name must be an IAM role name: 1-64 characters of letters, digits and +=,.@_-."
  }
  validation {
    condition     = length(var.role.trusted_role_arns) > 0 && alltrue([for arn in var.role.trusted_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", arn))])
    error_message = "trusted_role_arns must name at least one IAM role ARN without wildcards (arn:aws:iam::123456789012:role/NAME)."
  }
  validation {
    condition     = var.role.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", coalesce(var.role.organization_id, "-")))
    error_message = "organization_id must look like o-abcd123456."
  }
  validation {
    # https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (MaxSessionDuration)
    condition     = var.role.max_session_duration >= 3600 && var.role.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
  validation {
    condition     = alltrue([for arn in var.role.remediation_trusted_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", arn))])
    error_message = "remediation_trusted_role_arns must be IAM role ARNs without wildcards (the root output remediation_trusted_role_arns)."
  }
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role.remediation_role_name)) && var.role.remediation_role_name != var.role.name
    error_message = "The remediation role name must be an IAM role name (1-64 characters of letters, digits and +=,.@_-) other than the member role's."
  }
}
