"""The CloudTrail records of security-group calls really made to the emulator, which has no CloudTrail.

:class:`Trail` makes a call through a boto3 EC2 client and returns, beside the response, the
EventBridge event ("AWS API Call via CloudTrail") that CloudTrail would deliver for it: the
request parameters in CloudTrail's shape (lower camel case, lists as ``{"items": [...]}``,
``UserIdGroupPairs`` as ``groups``, ``ModifySecurityGroupRulesRequest`` with capitalised keys),
the response elements from the real response (the new group's id, the ``sgr-`` ids of the rules
created or revoked), the call's time at CloudTrail's whole-second precision, and the caller.

The emulator does not know who a caller is: :class:`Caller` says who the record names (the role
behind an assumed-role session, the user agent, console credentials or not).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# boto3 names whose CloudTrail name is not the name with a lower-case first letter.
NAMES = {"UserIdGroupPairs": "groups", "SecurityGroupRules": "securityGroupRuleSet",
         "RevokedSecurityGroupRules": "revokedSecurityGroupRuleSet", "Return": "_return"}
# Requests CloudTrail records in the API's own (capitalised) shape, under "<Operation>Request".
CAPITALISED = {"ModifySecurityGroupRules"}
BROWSER = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 "
           "Safari/537.36")
TERRAFORM = ("APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.100.0 "
             "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.36.3 os/linux lang/go#1.23.7")


@dataclass(frozen=True)
class Caller:
    """Who a record names: a session of ``role_arn`` called ``session``, with ``user_agent``."""

    role_arn: str
    session: str
    user_agent: str
    console: bool = False

    def identity(self) -> dict[str, Any]:
        account, name = self.role_arn.split(":")[4], self.role_arn.rsplit("/", 1)[-1]
        return {
            "type": "AssumedRole",
            "principalId": f"AROAEXAMPLE{name[:10].upper()}:{self.session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{name}/{self.session}",
            "accountId": account,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "arn": self.role_arn, "accountId": account, "userName": name},
                "attributes": {"mfaAuthenticated": str(self.console).lower()},
            },
        }


def cloudtrail_shape(value: Any) -> Any:
    """A boto3 request or response value in CloudTrail's shape."""
    if isinstance(value, dict):
        return {NAMES.get(k, k[:1].lower() + k[1:]): cloudtrail_shape(v) for k, v in value.items()
                if k != "ResponseMetadata"}
    if isinstance(value, list):
        return {"items": [cloudtrail_shape(v) for v in value]}
    return value


def _request(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    if operation in CAPITALISED:
        rules = params.get("SecurityGroupRules") or []
        request = {k: v for k, v in params.items() if k != "SecurityGroupRules"}
        request["SecurityGroupRule"] = [{**r, "tag": i + 1} for i, r in enumerate(rules)]
        if len(rules) == 1:
            request["SecurityGroupRule"] = request["SecurityGroupRule"][0]
        return {f"{operation}Request": request}
    if operation == "CreateSecurityGroup":
        params = dict(params)
        params["GroupDescription"] = params.pop("Description", "")
        tags = [{"resourceType": t["ResourceType"], "tags": [{"key": x["Key"], "value": x["Value"]} for x in t["Tags"]]}
                for t in params.pop("TagSpecifications", [])]
        return {**cloudtrail_shape(params), **({"tagSpecificationSet": {"items": tags}} if tags else {})}
    shaped = cloudtrail_shape(params)
    if "securityGroupRuleIds" in shaped:
        shaped["securityGroupRuleIds"] = {
            "items": [{"securityGroupRuleId": i} for i in shaped["securityGroupRuleIds"]["items"]]}
    return dict(shaped)


class Trail:
    """Security-group calls made through ``ec2`` as ``caller``; :meth:`call` returns the response and the event."""

    def __init__(self, ec2: Any, account: str, region: str) -> None:
        self.ec2, self.account, self.region = ec2, account, region

    def call(self, caller: Caller, operation: str, **params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        method = "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
        response = getattr(self.ec2, method)(**params)
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # CloudTrail: whole seconds
        request_id = str(uuid.uuid4())
        detail = {
            "eventVersion": "1.09",
            "userIdentity": caller.identity(),
            "eventTime": when,
            "eventSource": "ec2.amazonaws.com",
            "eventName": operation,
            "awsRegion": self.region,
            "sourceIPAddress": "198.51.100.7",
            "userAgent": caller.user_agent,
            "requestParameters": _request(operation, params),
            "responseElements": {"requestId": request_id, **cloudtrail_shape(response)},
            "requestID": request_id,
            "eventID": str(uuid.uuid4()),
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": self.account,
            "eventCategory": "Management",
        }
        if caller.console:
            detail["sessionCredentialFromConsole"] = "true"
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
                 "source": "aws.ec2", "account": self.account, "time": when, "region": self.region,
                 "resources": [], "detail": detail}
        return response, event
