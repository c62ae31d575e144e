"""VPC Reachability Analyzer output, read: resource ids and kinds, and short explanations.

Pure functions over ``DescribeNetworkInsightsPaths``/``DescribeNetworkInsightsAnalyses``
items: which kind of resource an id or ARN names, and one line per explanation of a blocked
path (which component blocks, and why). :mod:`sgwatch.reachability_check.reachability` builds the alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def endpoint_id(value: str | None) -> str:
    """``i-0abc`` from ``i-0abc`` or from its ARN (``arn:...:instance/i-0abc``)."""
    value = (value or "").strip()
    if value.startswith("arn:"):
        value = value.rsplit("/", 1)[-1] if "/" in value else value.rsplit(":", 1)[-1]
    return value


def endpoint_kind(value: str | None) -> str:
    ident = endpoint_id(value)
    return ident.rsplit("-", 1)[0] if "-" in ident else ""


# (explanation field, component type), most specific first: an explanation naming a
# security group also names the interface, subnet and VPC around it.
_COMPONENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("SecurityGroupRule", "security group"),
    ("SecurityGroup", "security group"),
    ("SecurityGroups", "security group"),
    ("AclRule", "network ACL"),
    ("Acl", "network ACL"),
    ("RouteTableRoute", "route table"),
    ("RouteTable", "route table"),
    ("SubnetRouteTable", "route table"),
    ("IngressRouteTable", "route table"),
    ("FirewallStatelessRule", "network firewall"),
    ("FirewallStatefulRule", "network firewall"),
    ("TransitGatewayRouteTableRoute", "transit gateway route table"),
    ("TransitGatewayRouteTable", "transit gateway route table"),
    ("TransitGatewayPolicyTable", "transit gateway policy table"),
    ("TransitGatewayAttachment", "transit gateway attachment"),
    ("TransitGateway", "transit gateway"),
    ("LoadBalancerTargetGroup", "load balancer target group"),
    ("LoadBalancerTargetGroups", "load balancer target group"),
    ("ElasticLoadBalancerListener", "load balancer listener"),
    ("ClassicLoadBalancerListener", "load balancer listener"),
    ("LoadBalancerArn", "load balancer"),
    ("InternetGateway", "internet gateway"),
    ("NatGateway", "NAT gateway"),
    ("VpcPeeringConnection", "VPC peering connection"),
    ("VpcEndpoint", "VPC endpoint"),
    ("VpnConnection", "VPN connection"),
    ("VpnGateway", "VPN gateway"),
    ("CustomerGateway", "customer gateway"),
    ("PrefixList", "prefix list"),
    ("NetworkInterface", "network interface"),
    ("Subnet", "subnet"),
    ("Vpc", "VPC"),
)
_ID_KINDS = {
    "sg": "security group",
    "sgr": "security group",
    "acl": "network ACL",
    "rtb": "route table",
    "igw": "internet gateway",
    "nat": "NAT gateway",
    "pcx": "VPC peering connection",
    "vpce": "VPC endpoint",
    "tgw": "transit gateway",
    "tgw-rtb": "transit gateway route table",
    "tgw-attach": "transit gateway attachment",
    "eni": "network interface",
    "subnet": "subnet",
    "vpc": "VPC",
    "i": "instance",
}


@dataclass(frozen=True)
class ExplanationSummary:
    component_type: str
    component: str  # ids (or name) of the component, comma-separated
    code: str
    direction: str = ""
    at: str = ""  # the network interface or subnet where it applies

    def text(self) -> str:
        where = ", ".join(p for p in (self.direction, f"at {self.at}" if self.at else "") if p)
        subject = f"{self.component_type} {self.component}".strip()
        return f"{subject}{f' ({where})' if where else ''}: {self.code}"


def _component_ids(value: Any) -> str:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        if isinstance(item, Mapping):
            ident = item.get("Id") or item.get("RuleNumber") or item.get("GroupId") or item.get("Arn")
            if item.get("Id") and item.get("Name"):
                ident = f"{item['Name']} ({item['Id']})"
            if ident is not None:
                names.append(str(ident))
        elif item is not None:
            names.append(str(item))
    return ", ".join(dict.fromkeys(names))


def summarise_explanation(explanation: Mapping[str, Any]) -> ExplanationSummary:
    code = str(explanation.get("ExplanationCode") or "UNKNOWN")
    direction = str(explanation.get("Direction") or "")
    component_type, component = "", ""
    for key, kind in _COMPONENT_FIELDS:
        if explanation.get(key):
            component_type, component = kind, _component_ids(explanation[key])
            if key in ("SecurityGroupRule", "AclRule", "RouteTableRoute"):
                parent = {"SecurityGroupRule": "SecurityGroup", "AclRule": "Acl", "RouteTableRoute": "RouteTable"}
                owner = explanation.get(parent[key]) or explanation.get("SecurityGroups")
                component = _component_ids(owner) if owner else component
            break
    if not component_type:
        generic = explanation.get("Component") or {}
        ident = generic.get("Id") if isinstance(generic, Mapping) else None
        kind = endpoint_kind(ident) if ident else ""
        component_type = _ID_KINDS.get(kind, "component" if ident else "path")
        component = _component_ids(generic) if ident else ""
    at = ""
    if component_type not in ("network interface", "subnet", "VPC"):
        for key in ("NetworkInterface", "Subnet"):
            if isinstance(explanation.get(key), Mapping) and explanation[key].get("Id"):
                at = explanation[key]["Id"]
                break
    return ExplanationSummary(component_type, component, code, direction, at)


def summarise_explanations(explanations: Iterable[Mapping[str, Any]] | None) -> list[ExplanationSummary]:
    """One line per distinct explanation, in the analyzer's order."""
    seen: dict[ExplanationSummary, None] = {}
    for explanation in explanations or ():
        if isinstance(explanation, Mapping):
            seen.setdefault(summarise_explanation(explanation), None)
    return list(seen)
