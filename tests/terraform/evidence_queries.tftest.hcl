# Evidence queries (enable_evidence_queries): off by default; on, one projected table per evidence kind over
# the bucket's own key layout, an enforced workgroup writing encrypted results to the bucket under their own
# prefix (expiring, and exempt from the write-once rule only there), and the named queries.
# Offline: the AWS provider is mocked.

mock_provider "aws" {
  source = "./tests/terraform/mocks"
}

run "off_by_default" {
  command = plan

  assert {
    condition     = length(module.evidence_queries) == 0 && output.evidence_query_policy_arn == null && output.evidence_query_workgroup == null
    error_message = "Evidence queries are off by default, with null outputs."
  }
  assert {
    condition     = [for r in module.evidence_bucket[0].lifecycle_rule_ids : r] == ["evidence-retention"]
    error_message = "Without evidence queries the bucket keeps its one lifecycle rule."
  }
}

run "on" {
  command = plan

  variables {
    enable_evidence_queries             = true
    accounts                            = ["210987654321"]
    regions                             = ["eu-west-1"]
    evidence_query_bytes_scanned_cutoff = 1073741824
  }

  override_resource {
    target          = module.evidence_bucket[0].aws_s3_bucket.this[0]
    override_during = plan
    values = {
      id  = "sgwatch-evidence-123456789012-us-east-1"
      arn = "arn:aws:s3:::sgwatch-evidence-123456789012-us-east-1"
    }
  }
  override_resource {
    target          = module.evidence_queries[0].aws_iam_policy.query
    override_during = plan
    values          = { arn = "arn:aws:iam::123456789012:policy/sgwatch-evidence-query" }
  }

  assert {
    condition     = toset(keys(module.evidence_queries[0].table_names)) == toset(["snapshots", "diffs", "exposure", "rule_review", "unused", "events"])
    error_message = "One table per evidence kind a query reads."
  }
  assert {
    condition     = module.evidence_queries[0].database_name == "sgwatch_evidence" && output.evidence_query_workgroup.workgroup == "sgwatch-evidence"
    error_message = "The database and workgroup are named after name_prefix."
  }
  assert {
    condition = alltrue([
      module.evidence_queries[0].table_parameters["snapshots"]["storage.location.template"] == "s3://sgwatch-evidence-123456789012-us-east-1/security-groups/$${part_account}/$${part_region}/snapshots/",
      module.evidence_queries[0].table_parameters["rule_review"]["storage.location.template"] == "s3://sgwatch-evidence-123456789012-us-east-1/security-groups/$${part_account}/$${part_region}/rule-review/",
      module.evidence_queries[0].table_parameters["events"]["storage.location.template"] == "s3://sgwatch-evidence-123456789012-us-east-1/security-groups/$${part_account}/$${part_region}/events/$${part_day}/",
    ])
    error_message = "Each table's projected location is its kind's folder under the evidence prefix."
  }
  assert {
    condition = alltrue([for name, p in module.evidence_queries[0].table_parameters : (
      p["projection.enabled"] == "true" && p["projection.part_account.type"] == "enum"
      && p["projection.part_account.values"] == "123456789012,210987654321"
      && p["projection.part_region.type"] == "enum" && p["projection.part_region.values"] == "us-east-1,eu-west-1"
    )])
    error_message = "Accounts (this one and the members) and regions are enum projections."
  }
  assert {
    condition = (module.evidence_queries[0].table_parameters["events"]["projection.part_day.type"] == "date"
      && module.evidence_queries[0].table_parameters["events"]["projection.part_day.format"] == "yyyy/MM/dd"
    && !contains(keys(module.evidence_queries[0].table_parameters["snapshots"]), "projection.part_day.type"))
    error_message = "Only the events, kept under a YYYY/MM/DD folder, project the day."
  }
  assert {
    condition = (module.evidence_queries[0].workgroup.enforce_workgroup_configuration
      && module.evidence_queries[0].workgroup.bytes_scanned_cutoff_per_query == 1073741824
      && module.evidence_queries[0].workgroup.output_location == "s3://sgwatch-evidence-123456789012-us-east-1/sgwatch-query-results/"
    && module.evidence_queries[0].workgroup.encryption_option == "SSE_KMS")
    error_message = "The workgroup enforces its configuration, the cutoff and KMS-encrypted results under their own prefix."
  }
  assert {
    condition     = length(module.evidence_queries[0].named_query_ids) == 6
    error_message = "Six named queries."
  }
  assert {
    condition     = module.evidence_bucket[0].lifecycle_rule_ids == ["evidence-retention", "query-results"]
    error_message = "Query results expire by a lifecycle rule of their own."
  }
  assert {
    condition     = output.evidence_query_policy_arn == "arn:aws:iam::123456789012:policy/sgwatch-evidence-query"
    error_message = "The query policy is an output."
  }
}

run "organisation_accounts_are_injected" {
  command = plan

  variables {
    enable_evidence_queries     = true
    accounts_from_organizations = true
    organization_id             = "o-abcdefghij"
  }

  assert {
    condition     = alltrue([for name, p in module.evidence_queries[0].table_parameters : p["projection.part_account.type"] == "injected" && !contains(keys(p), "projection.part_account.values")])
    error_message = "With the organisation's accounts the account is injected."
  }
}

run "rejects_an_empty_evidence_prefix" {
  command = plan

  variables {
    enable_evidence_queries = true
    evidence_prefix         = ""
  }

  expect_failures = [data.aws_partition.input_checks]
}
