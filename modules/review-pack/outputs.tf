output "function_name" {
  description = "Name of the review_pack function (invoke it with {\"from\": \"YYYY-MM-DD\", \"to\": \"YYYY-MM-DD\"} for any period)."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the review_pack function."
  value       = module.function.function_arn
}

output "role_name" {
  description = "Execution role of the review_pack function."
  value       = module.function.role_name
}

output "reviews_prefix" {
  description = "Key prefix under which the packs are written (<prefix>reviews/<from>_<to>/)."
  value       = "${var.evidence.prefix}reviews/"
}

output "work_queue_url" {
  description = "With fan_out: the queue of the pack's parts (null without)."
  value       = module.function.work_queue_url
}
