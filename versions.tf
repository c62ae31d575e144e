terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.76.0 is the first release accepting the default runtime python3.13 (hashicorp/terraform-provider-aws
      # #40107, #40137); stack_instance_summaries (modules/organization-members) needs 5.9.0.
      version = ">= 5.76"
    }
  }
}
