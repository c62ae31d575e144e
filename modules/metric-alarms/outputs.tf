output "alarm_names" {
  description = "Alarm names by key."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}
