variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function: modules/lambda-function's settings, which it validates."
  type        = any
}

variable "evidence" {
  description = "Evidence bucket receiving snapshots and diffs: bucket_name, bucket_arn and the key prefix (ends with /)."
  type        = any
}

variable "alert_topic_arn" {
  description = "SNS topic receiving the digests: rule justifications that expired or expire within the warning days (each rule announced once), and new drift when iac_state_locations is set; null for none."
  type        = string
  default     = null
}

variable "slack" {
  description = "Slack channel receiving the same digests (modules/lambda-function's slack: token_secret_arn, channel_id, optional secret_kms_key_arn and api_url); null for none."
  type        = any
  default     = null
}

variable "regions" {
  description = "Regions to snapshot; empty means the function's own region (modules/lambda-function's accounts.regions, which it validates)."
  type        = list(string)
  default     = []
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression of the snapshot run."
  type        = string
  default     = "rate(1 day)"
}

variable "schedule_timezone" {
  description = "Time zone of cron schedule expressions."
  type        = string
  default     = "UTC"
}

variable "accounts" {
  description = "Accounts covered besides the own one, and the fan-out: modules/lambda-function's accounts."
  type        = any
  default     = {}
}

variable "authorized_public_ports" {
  description = "Ports that may be open to the whole internet: world ingress to these ports only is rated LOW (the root's authorized_public_ports; modules/lambda-function validates them)."
  type        = list(number)
  default     = [80, 443]
}

variable "rule_review" {
  description = <<-EOT
    The rule review written beside each snapshot (rule-review/<stamp>.csv). tag_keys: the tag keys of a rule's (or
    its group's) justification, owner, ticket and expiry date (YYYY-MM-DD); register: an optional CSV object in S3
    (bucket, key, and kms_key_arn when it is encrypted with a customer-managed key) the function reads once per run;
    justification_warning_days: a justification expiring within this many days is reported as expiring;
    justify_private_peers: a rule whose peer is a private address range or its own group needs no reason.
  EOT
  type = object({
    tag_keys = optional(object({
      justification = optional(string, "justification")
      owner         = optional(string, "owner")
      ticket        = optional(string, "ticket")
      expires       = optional(string, "expires")
    }), {})
    register = optional(object({
      bucket      = string
      key         = string
      kms_key_arn = optional(string)
    }))
    justification_warning_days = optional(number, 14)
    justify_private_peers      = optional(bool, false)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for k in values(var.rule_review.tag_keys) : length(trimspace(k)) > 0 && length(k) <= 128])
    error_message = "rule_review.tag_keys must be tag keys of 1 to 128 characters."
  }
  validation {
    condition     = var.rule_review.justification_warning_days >= 0 && var.rule_review.justification_warning_days <= 366 && floor(var.rule_review.justification_warning_days) == var.rule_review.justification_warning_days
    error_message = "rule_review.justification_warning_days must be a whole number of days from 0 to 366."
  }
  validation {
    condition     = var.rule_review.register == null || (can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", try(var.rule_review.register.bucket, ""))) && length(trimspace(try(var.rule_review.register.key, ""))) > 0)
    error_message = "rule_review.register must name an S3 bucket (its name, not an ARN) and a key."
  }
  validation {
    condition     = try(var.rule_review.register.kms_key_arn, null) == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", coalesce(try(var.rule_review.register.kms_key_arn, null), "-")))
    error_message = "rule_review.register.kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "iac_state_locations" {
  description = <<-EOT
    Terraform states whose security-group resources the drift report (drift/<stamp>.csv) holds against the live
    rules; empty: no drift report. Each entry: bucket, and either key (one state, and its workspaces'
    env:/<workspace>/<key>) or prefix (every *.tfstate object under it, and under env:/<workspace>/<prefix>);
    kms_key_arn when a customer-managed key encrypts the states; role_arn to read them with a role of another
    account (that role then needs the S3 and KMS access, this function only sts:AssumeRole on it).
  EOT
  type = list(object({
    bucket      = string
    key         = optional(string)
    prefix      = optional(string)
    kms_key_arn = optional(string)
    role_arn    = optional(string)
  }))
  default  = []
  nullable = false

  validation {
    condition     = alltrue([for l in var.iac_state_locations : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", l.bucket)) && (l.key == null) != (l.prefix == null) && length(trimspace(coalesce(l.key, l.prefix, " "))) > 0 && !startswith(coalesce(l.key, l.prefix, " "), "/")])
    error_message = "iac_state_locations: each entry names an S3 bucket (its name, not an ARN) and either a key or a prefix (not both, not starting with /)."
  }
  validation {
    condition     = alltrue([for l in var.iac_state_locations : l.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", coalesce(l.kms_key_arn, "-")))])
    error_message = "iac_state_locations[*].kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
  validation {
    condition     = alltrue([for l in var.iac_state_locations : l.role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", coalesce(l.role_arn, "-")))])
    error_message = "iac_state_locations[*].role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "iac_cloudformation" {
  description = "Hold the live rules against the CloudFormation stacks that declare security groups or rules too, through CloudFormation's drift detection (the root's iac_cloudformation_drift)."
  type        = bool
  default     = false
  nullable    = false
}

variable "iac_managed_tag_keys" {
  description = "Tag keys that mark a group as managed by infrastructure as code (the root's iac_managed_tag_keys): a live group carrying one that no state declares is an undeclared-group in the drift report."
  type        = list(string)
  default     = ["aws:cloudformation:stack-id"]
}

variable "remediation_notifier_arn" {
  description = "With the root's remediation on: the change notifier's function ARN. Each run then checks the account-region's exceptions that expired against its snapshot and hands the rules still there to the notifier (an asynchronous lambda:InvokeFunction of exactly this function) as a new qualifying change."
  type        = string
  default     = null
}
