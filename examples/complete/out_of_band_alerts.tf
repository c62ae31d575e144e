# A second address for the alerts that need someone now: changes made outside change control
# (message attribute change_control = "out-of-band", when approved_change_principals is set) and
# CRITICAL alerts (a world-open sensitive service on a group the internet reaches). The alert
# topic carries the attributes severity, event_name, exposed, origin and change_control; an SNS
# subscription filter policy picks the messages a subscriber receives:
# https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html ("$or":
# https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html).

variable "out_of_band_alert_email" {
  description = "E-mail address (e.g. a pager's) receiving only out-of-band changes and CRITICAL alerts; null subscribes none."
  type        = string
  default     = null
}

resource "aws_sns_topic_subscription" "out_of_band" {
  count = var.out_of_band_alert_email == null ? 0 : 1

  topic_arn           = module.sgwatch.alert_topic_arn
  protocol            = "email"
  endpoint            = var.out_of_band_alert_email
  filter_policy_scope = "MessageAttributes"
  filter_policy = jsonencode({
    "$or" = [
      { change_control = ["out-of-band"] },
      { severity = ["CRITICAL"] },
    ]
  })
}
