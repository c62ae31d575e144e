variable "include_inventory" {
  description = "Grant the reads of the inventory (security groups, their rules, and the network interfaces, route tables, load balancers, listeners and prefix lists of the exposure report)."
  type        = bool
  default     = true
}

variable "include_unused_sg_audit" {
  description = "Grant the reads of the unused-group audit (network interfaces, launch templates, Lambda, ECS, RDS...)."
  type        = bool
  default     = true
}
