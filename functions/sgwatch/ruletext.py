"""The one way a security-group rule is written out for a person: alerts, the review pack, reasons.

``ingress tcp port 22 from 0.0.0.0/0 (any IPv4 address) "ops" [sgr-0abc]``. Every value goes
through :func:`sgwatch.text.clean` (one printable line); escaping for a markup (Slack, HTML)
is the caller's later step. Values read back from a CSV are un-neutralised by the caller first.
"""

from __future__ import annotations

from .rules import Rule
from .text import clean

_PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def _ports(low: str, high: str) -> str:
    if (low, high) in (("", ""), ("-1", "-1"), ("0", "65535"), ("1", "65535")):
        return "all ports"
    if not high or low == high:
        return f"port {clean(low, 20)}"
    return f"ports {clean(low, 20)}-{clean(high, 20)}"


def protocol_text(rule: Rule) -> str:
    """``all traffic``, ``tcp port 22``, ``udp ports 3000-4000``, ``icmp type 8 code 0``..."""
    protocol = rule.protocol.lower()
    if protocol in ("-1", "all"):
        return "all traffic"
    name = _PROTOCOL_NAMES.get(protocol, protocol)
    if name in ("tcp", "udp"):
        return f"{name} {_ports(rule.from_port, rule.to_port)}"
    if name in ("icmp", "icmpv6"):
        kind = "all types" if rule.from_port in ("", "-1") else f"type {clean(rule.from_port, 20)}"
        code = "" if rule.to_port in ("", "-1") else f" code {clean(rule.to_port, 20)}"
        return f"{name} {kind}{code}"
    if not name:
        return "protocol unknown"
    return f"protocol {clean(name, 20)}"


def peer_text(rule: Rule) -> str:
    """The source or destination, saying what a ``/0`` or a group reference means."""
    peer = clean(rule.peer, 120)
    if rule.peer_type == "ipv4":
        return f"{peer} (any IPv4 address)" if peer.endswith("/0") else peer
    if rule.peer_type == "ipv6":
        return f"{peer} (any IPv6 address)" if peer.endswith("/0") else peer
    if rule.peer_type == "prefix-list":
        return f"prefix list {peer}"
    if rule.peer_type == "security-group":
        owner, _, group = peer.rpartition("/")
        return f"security group {group} of account {owner}" if owner else f"security group {group}"
    return f"unknown peer {peer}".strip()


def rule_text(rule: Rule) -> str:
    """e.g. ``ingress tcp port 22 from 0.0.0.0/0 (any IPv4 address) "ops" [sgr-0abc]``."""
    if not (rule.protocol or rule.peer_type):  # a description update given by rule id only
        text = f"rule {clean(rule.rule_id, 40)}".strip()
        return text + (f' description "{clean(rule.description, 300)}"' if rule.description else " (no description)")
    direction = rule.direction or "rule"
    preposition = "to" if rule.direction == "egress" else "from"
    text = f"{direction} {protocol_text(rule)} {preposition} {peer_text(rule)}"
    text += f' "{clean(rule.description, 300)}"' if rule.description else " (no description)"
    if rule.rule_id:
        text += f" [{clean(rule.rule_id, 40)}]"
    return text
