# Athena over the evidence bucket, in place: a Glue table per evidence kind whose partitions are
# projected (never crawled or added), so a query reads only the objects of the accounts, regions and
# days it names, and nothing is copied. tables.json declares the tables (their columns are the CSV
# headers the functions write, and the event record's fields); queries/*.sql are the named queries.
# The unit tests read both files, so what is deployed is what they check.

locals {
  tables  = jsondecode(file("${path.module}/tables.json"))
  queries = { for f in fileset("${path.module}/queries", "*.sql") : trimsuffix(f, ".sql") => file("${path.module}/queries/${f}") }

  database_name  = "${replace(var.name_prefix, "-", "_")}_evidence"
  workgroup_name = "${var.name_prefix}-evidence"
  evidence_root  = "s3://${var.evidence.bucket_name}/${var.evidence.prefix}"

  # Partition projection: the account (enum of the accounts given, else injected), the region (enum)
  # and, for the events kept under a YYYY/MM/DD folder, the UTC day. Series keyed by a stamp have no
  # date folder, so their day is read from the object's name ("$path") instead.
  account_projection = length(var.accounts) == 0 ? { "projection.part_account.type" = "injected" } : {
    "projection.part_account.type"   = "enum"
    "projection.part_account.values" = join(",", var.accounts)
  }
  region_projection = {
    "projection.part_region.type"   = "enum"
    "projection.part_region.values" = join(",", var.regions)
  }
  day_projection = {
    "projection.part_day.type"          = "date"
    "projection.part_day.format"        = "yyyy/MM/dd"
    "projection.part_day.range"         = "2020/01/01,NOW"
    "projection.part_day.interval"      = "1"
    "projection.part_day.interval.unit" = "DAYS"
  }
  # Where partition projection finds a partition's objects: tables.json gives each table's location under
  # the evidence prefix (the key layout sgwatch.evidence writes); the kind is its third segment.
  location_templates = { for name, t in local.tables : name => "${local.evidence_root}${t.location}" }
  kinds              = { for name, t in local.tables : name => split("/", t.location)[2] }
  dated              = { for name, t in local.tables : name => strcontains(t.location, "$${part_day}") }
}

resource "aws_glue_catalog_database" "this" {
  name        = local.database_name
  description = "SG Watch evidence in s3://${var.evidence.bucket_name}/${var.evidence.prefix} (tables over the objects in place)."
  tags        = var.tags
}

resource "aws_glue_catalog_table" "this" {
  for_each = local.tables

  name          = each.key
  database_name = aws_glue_catalog_database.this.name
  description   = each.value.description
  table_type    = "EXTERNAL_TABLE"

  parameters = merge(
    {
      "classification"            = each.value.format
      "projection.enabled"        = "true"
      "storage.location.template" = local.location_templates[each.key]
    },
    each.value.format == "csv" ? { "skip.header.line.count" = "1" } : {},
    local.account_projection,
    local.region_projection,
    local.dated[each.key] ? local.day_projection : {},
  )

  partition_keys {
    name = "part_account"
    type = "string"
  }
  partition_keys {
    name = "part_region"
    type = "string"
  }
  dynamic "partition_keys" {
    for_each = local.dated[each.key] ? [1] : []
    content {
      name = "part_day"
      type = "string"
    }
  }

  storage_descriptor {
    location      = local.evidence_root # unused: projection reads storage.location.template
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      serialization_library = each.value.format == "csv" ? "org.apache.hadoop.hive.serde2.OpenCSVSerde" : "org.openx.data.jsonserde.JsonSerDe"
      parameters = each.value.format == "csv" ? {
        "separatorChar" = ","
        "quoteChar"     = "\""
      } : { "ignore.malformed.json" = "false" }
    }

    dynamic "columns" {
      for_each = each.value.columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

resource "aws_athena_workgroup" "this" {
  name        = local.workgroup_name
  description = "SG Watch evidence queries: results encrypted in the evidence bucket, bytes scanned per query limited."
  # Deleting the workgroup takes its named queries with it (they are this module's own).
  force_destroy = true
  tags          = var.tags

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location       = "s3://${var.evidence.bucket_name}/${var.results_prefix}"
      expected_bucket_owner = data.aws_caller_identity.current.account_id

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}

data "aws_caller_identity" "current" {}

resource "aws_athena_named_query" "this" {
  for_each = local.queries

  name        = "${var.name_prefix}-${each.key}"
  description = trimprefix(split("\n", each.value)[0], "-- ")
  database    = aws_glue_catalog_database.this.name
  workgroup   = aws_athena_workgroup.this.id
  query       = each.value
}
