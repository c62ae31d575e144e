output "alarm_names" {
  description = "Alarm names by key."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}

output "shape" {
  description = "What every alarm shares: period (seconds), evaluation_periods, comparison_operator and treat_missing_data."
  value       = local.shape
}
