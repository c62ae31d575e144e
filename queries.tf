# Evidence queries: Glue tables over the evidence bucket (partition projection, nothing copied), an
# Athena workgroup whose results go to the bucket under their own prefix, and the named queries.

locals {
  # Outside the evidence prefix (the functions read every folder under it as an account); expired by the
  # bucket's lifecycle when the module creates the bucket.
  query_results_prefix = "${var.name_prefix}-query-results/"
}

module "evidence_queries" {
  source = "./modules/evidence-queries"
  count  = var.enable_evidence_queries ? 1 : 0

  name_prefix = var.name_prefix
  evidence    = local.evidence
  kms_key_arn = local.kms_key_arn
  # With the organisation's accounts the list is not known here: the account is injected (named per query).
  accounts                       = var.accounts_from_organizations ? [] : distinct(concat([local.account_id], var.accounts))
  regions                        = distinct(concat([local.region], var.regions))
  bytes_scanned_cutoff_per_query = var.evidence_query_bytes_scanned_cutoff
  results_prefix                 = local.query_results_prefix
  tags                           = var.tags
}
