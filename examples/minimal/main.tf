# Inventory only: a daily snapshot of every security-group rule, diffed against the
# previous one, in a new hardened evidence bucket. Every other capability is off.
provider "aws" {
  region = var.region
}

module "sgwatch" {
  source = "../../"

  name_prefix                 = var.name_prefix
  evidence_force_destroy      = var.evidence_force_destroy
  evidence_destroy_protection = !var.evidence_force_destroy

  enable_sg_inventory    = true
  enable_unused_sg_audit = false
}
