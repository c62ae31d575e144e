data "aws_iam_policy_document" "function" {
  dynamic "statement" {
    for_each = var.alert_topic_arn == null ? [] : [var.alert_topic_arn]
    content {
      sid       = "AnnouncePack"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }
}

module "function" {
  source = "../lambda-function"

  name_prefix  = var.name_prefix
  capability   = "review-pack"
  function_key = "review_pack"
  description  = "SG Watch: six-monthly PCI DSS 1.2.7 review pack with 1.2.2 change control (report, CSVs, manifest, sign-off record)."
  settings     = var.lambda_settings
  policy_json  = data.aws_iam_policy_document.function.json
  timeout      = var.timeout
  memory_size  = var.memory_size
  slack        = var.slack
  fan_out      = var.fan_out ? { max_concurrency = var.fan_out_max_concurrency } : null

  # Reads every kind of evidence; writes the packs (and, with fan_out, the runs' partials) under <prefix>reviews/ only.
  evidence = merge(var.evidence, { write = ["reviews/*"] })

  authorized_public_ports = var.authorized_public_ports

  environment = merge(
    { SCHEDULE_TIMEZONE = var.schedule_timezone },
    var.alert_topic_arn == null ? {} : { ALERT_TOPIC_ARN = var.alert_topic_arn },
  )

  schedule = {
    expression = var.schedule_expression
    timezone   = var.schedule_timezone
  }
}
