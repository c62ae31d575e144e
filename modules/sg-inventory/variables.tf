variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
}

variable "lambda_settings" {
  description = "Settings shared by every function (see modules/lambda-function)."
  type = object({
    runtime                  = string
    architecture             = string
    log_retention_days       = number
    permissions_boundary_arn = optional(string)
    kms_key_arn              = string
    alarm_topic_arn          = optional(string)
    tags                     = optional(map(string), {})
  })
}

variable "evidence_bucket_name" {
  description = "Evidence bucket receiving snapshots and diffs."
  type        = string
}

variable "evidence_bucket_arn" {
  description = "ARN of the evidence bucket."
  type        = string
}

variable "evidence_prefix" {
  description = "Key prefix of the evidence (ends with /)."
  type        = string
}

variable "regions" {
  description = "Regions to snapshot; empty means the function's own region."
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
  description = "Accounts covered besides the own one: ids, the whole organisation (its id, when known, limits the member roles assumed to its accounts), exclusions, the member role to assume, how many (account, region) pairs run at once, and whether a run is spread over an SQS work queue (one queued run per pair, at most fan_out_max_concurrency at once)."
  type = object({
    ids                = optional(list(string), [])
    from_organizations = optional(bool, false)
    excluded           = optional(list(string), [])
    member_role_name   = optional(string, "sgwatch-member-read")
    max_workers        = optional(number, 8)
    # With from_organizations: roles are assumed only in this organisation's accounts (aws:ResourceOrgID).
    organization_id = optional(string)
    # Beyond one run's 15 minutes: one queued run per (account, region) pair (see modules/lambda-function work_queue).
    fan_out                 = optional(bool, false)
    fan_out_max_concurrency = optional(number, 5)
  })
  default = {}
}
