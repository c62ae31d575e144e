# Shared by every fixture (symlinked as provider.tf): the AWS provider pointed at the
# local emulator. The endpoint comes from AWS_ENDPOINT_URL, exported by tests/module/conftest.py.
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
}
