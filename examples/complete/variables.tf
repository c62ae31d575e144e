variable "region" {
  description = "Region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "regions" {
  description = "Regions to inventory; empty means the deployment region."
  type        = list(string)
  default     = []
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "sgwatch"
}

variable "alert_emails" {
  description = "E-mail addresses receiving alerts."
  type        = list(string)
  default     = []
}

variable "slack_channel_id" {
  description = "Slack channel id (C...) for reports and alerts; null leaves Slack off."
  type        = string
  default     = null
}

variable "evidence_force_destroy" {
  description = "A throwaway deployment (demos and tests only): allow destroying a non-empty evidence bucket, and turn off the destroy protection of the bucket and its key."
  type        = bool
  default     = false
}

variable "approved_change_principals" {
  description = "IAM ARN patterns (`*` wildcards) of the principals that make security-group changes through change control, e.g. your deployment pipeline's role; empty: change control \"not-configured\"."
  type        = list(string)
  default     = []
}

variable "remediation_approvers" {
  description = "Slack user or user-group ids allowed to revert a CRITICAL out-of-band change from its alert; null leaves remediation off (it needs slack_channel_id)."
  type        = list(string)
  default     = null
}

variable "enable_evidence_queries" {
  description = "Glue tables, an Athena workgroup and named queries over the evidence bucket (see the root README's \"Evidence queries\")."
  type        = bool
  default     = true
}
