output "database_name" {
  description = "Glue database of the evidence tables."
  value       = aws_glue_catalog_database.this.name
}

output "table_names" {
  description = "Evidence table names, by table."
  value       = { for k, t in aws_glue_catalog_table.this : k => t.name }
}

output "workgroup_name" {
  description = "Athena workgroup the queries run in."
  value       = aws_athena_workgroup.this.name
}

output "named_query_ids" {
  description = "Athena named query ids, by query name."
  value       = { for k, q in aws_athena_named_query.this : k => q.id }
}

output "query_policy_arn" {
  description = "IAM policy that allows running this workgroup's queries over the evidence tables and nothing else."
  value       = aws_iam_policy.query.arn
}

output "results_prefix" {
  description = "Key prefix of query results in the evidence bucket."
  value       = var.results_prefix
}

output "table_parameters" {
  description = "Each table's parameters (partition projection and its storage.location.template)."
  value       = { for k, t in aws_glue_catalog_table.this : k => t.parameters }
}

output "workgroup" {
  description = "The workgroup's enforced settings: enforce_workgroup_configuration, bytes_scanned_cutoff_per_query, output_location, encryption_option."
  value = {
    enforce_workgroup_configuration = aws_athena_workgroup.this.configuration[0].enforce_workgroup_configuration
    bytes_scanned_cutoff_per_query  = aws_athena_workgroup.this.configuration[0].bytes_scanned_cutoff_per_query
    output_location                 = aws_athena_workgroup.this.configuration[0].result_configuration[0].output_location
    encryption_option               = aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option
  }
}
