variable "name_prefix" {
  description = "Prefix of every resource name (the Glue database takes it with '-' as '_')."
  type        = string
}

variable "evidence" {
  description = "Evidence bucket: bucket_name, bucket_arn and the key prefix (ends with /) the tables read under."
  type        = any
}

variable "kms_key_arn" {
  description = "KMS key of the evidence bucket: the workgroup encrypts query results with it, and readers decrypt evidence with it."
  type        = string
}

variable "accounts" {
  description = "Account ids the tables project (enum partition values); empty: the account is injected, so every query names its accounts (part_account = '...')."
  type        = list(string)
  default     = []
}

variable "regions" {
  description = "Regions the tables project (enum partition values)."
  type        = list(string)
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Bytes one query may scan before Athena cancels it (the workgroup enforces it; at least 10 MB)."
  type        = number
  default     = 10737418240
  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760
    error_message = "bytes_scanned_cutoff_per_query must be at least 10485760 (10 MB), Athena's minimum."
  }
}

variable "results_prefix" {
  description = "Key prefix of query results in the evidence bucket (ends with /), outside the evidence prefix; the bucket's lifecycle expires it."
  type        = string
}

variable "tags" {
  description = "Tags of every taggable resource."
  type        = map(string)
  default     = {}
}
