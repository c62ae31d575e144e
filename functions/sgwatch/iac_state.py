"""Security-group rules declared in Terraform state (format version 4), as :mod:`sgwatch.drift` compares them.

Only four resource types are kept: ``aws_security_group`` (its inline ``ingress``/``egress``),
``aws_security_group_rule``, ``aws_vpc_security_group_ingress_rule`` and ``aws_vpc_security_group_egress_rule``,
in any module, of every ``count``/``for_each`` instance. State files hold secrets (outputs, passwords,
private keys): the document is walked one top-level value and one resource at a time, every other value
is dropped as soon as it is parsed, and nothing but the fields of :class:`DeclaredRule` and
:class:`DeclaredGroup` leaves this module (no log line names anything else).

The states are read from ``IAC_STATE_LOCATIONS`` (a JSON list of ``{bucket, key | prefix, role_arn}``), each
object once per run; a key location also covers its workspaces (``env:/<workspace>/<key>``, the S3 backend's
default ``workspace_key_prefix``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import astuple, dataclass, field
from typing import Any

from . import accounts, aws, log, settings
from .settings import Environment

TYPES = ("aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule",
         "aws_vpc_security_group_egress_rule")
STATE_VERSION = 4
WORKSPACES = "env:/"  # the S3 backend's default workspace_key_prefix, with its separator
STATE_SUFFIX = ".tfstate"  # what a prefix location reads: the objects under it named like a state
# Protocols as DescribeSecurityGroupRules names them (Terraform accepts numbers and "all" too).
_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}


class StateFormatError(ValueError):
    """The object is not a Terraform state this module reads (not JSON, another format version)."""


@dataclass(frozen=True)
class DeclaredRule:
    """One rule and peer a source declares, in the snapshot's terms (:class:`sgwatch.rules.Rule`)."""

    source: str  # s3://bucket/key of the state, or a stack ARN
    address: str  # the Terraform resource address (or the stack's logical id)
    group_id: str
    direction: str  # ingress | egress
    rule_id: str  # sgr-... where the source records it, else ""
    protocol: str
    from_port: str
    to_port: str
    peer_type: str  # ipv4 | ipv6 | prefix-list | security-group
    peer: str
    description: str


@dataclass(frozen=True)
class DeclaredGroup:
    source: str
    address: str
    group_id: str
    group_name: str
    vpc_id: str
    account_id: str  # from the group's ARN; "" when the state does not record it
    region: str


@dataclass
class Declared:
    """Everything the sources read declare."""

    groups: list[DeclaredGroup] = field(default_factory=list)
    rules: list[DeclaredRule] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    _by_group: dict[str, list[DeclaredRule]] | None = field(default=None, repr=False, compare=False)

    def extend(self, other: Declared) -> None:
        self.groups += other.groups
        self.rules += other.rules
        self.sources += other.sources
        self._by_group = None

    def rules_of(self, group_ids: Iterable[str]) -> list[DeclaredRule]:
        """The rules declared for these groups (indexed once: a run asks once per account and region)."""
        index = self._by_group
        if index is None:
            index = {}
            for rule in self.rules:
                index.setdefault(rule.group_id, []).append(rule)
            self._by_group = index
        return [r for group_id in group_ids for r in index.get(group_id, ())]


# --------------------------------------------------------------------------- the state document

_decoder = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def _expect(text: str, at: int, char: str) -> int:
    at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
    if text[at:at + 1] != char:
        raise StateFormatError(f"{char!r} expected at character {at}")
    return _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]


def _resources(text: str, version: list[Any]) -> Iterator[Mapping[str, Any]]:
    """The ``resources`` of a state document one at a time; every other top-level value is parsed and dropped
    at once (``version`` receives the format version)."""
    decode = _decoder.raw_decode
    try:
        at = _expect(text, 0, "{")
        while text[at:at + 1] != "}":
            key, at = decode(text, at)
            at = _expect(text, at, ":")
            if key == "resources":
                at = _expect(text, at, "[")
                while text[at:at + 1] != "]":
                    resource, at = decode(text, at)
                    if isinstance(resource, dict) and resource.get("type") in TYPES:
                        yield resource
                    del resource
                    at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
                    if text[at:at + 1] == ",":
                        at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
                at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
            else:
                value, at = decode(text, at)
                if key == "version":
                    version.append(value)
                del value
                at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
            if text[at:at + 1] == ",":
                at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
            elif text[at:at + 1] != "}":
                raise StateFormatError(f"',' or '}}' expected at character {at}")
    except json.JSONDecodeError as exc:
        raise StateFormatError(f"not JSON at character {exc.pos}") from None  # never the document's text


def address(resource: Mapping[str, Any], instance: Mapping[str, Any]) -> str:
    """``module.a["x"].aws_security_group.web[0]``: Terraform's address of one instance."""
    base = f"{resource['type']}.{resource.get('name', '')}"
    if resource.get("mode", "managed") == "data":
        base = f"data.{base}"
    if resource.get("module"):
        base = f"{resource['module']}.{base}"
    if "index_key" in instance:
        index = instance["index_key"]
        base += f"[{index}]" if isinstance(index, int) else f"[{json.dumps(index)}]"
    return base


def parse_state(body: bytes | str, source: str) -> Declared:
    """The groups and rules a state document declares (``source``: its ``s3://`` URI);
    :class:`StateFormatError` when it is not a state of format version 4."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    version: list[Any] = []
    found = Declared(sources=[source])
    for resource in _resources(text, version):
        if resource.get("mode", "managed") != "managed":
            continue
        for instance in resource.get("instances") or ():
            attributes = instance.get("attributes") if isinstance(instance, dict) else None
            if not isinstance(attributes, dict) or instance.get("deposed"):
                continue  # a deposed object is on its way out; v3's attributes_flat is not read
            where = address(resource, instance)
            kind = resource["type"]
            if kind == "aws_security_group":
                group = _group(source, where, attributes)
                found.groups.append(group)
                for direction in ("ingress", "egress"):
                    for block in attributes.get(direction) or ():
                        found.rules += _block_rules(source, where, group.group_id, direction, "", block)
            elif kind == "aws_security_group_rule":
                found.rules += _block_rules(source, where, _text(attributes.get("security_group_id")),
                                            _text(attributes.get("type")),
                                            _text(attributes.get("security_group_rule_id")), attributes)
            else:
                found.rules += _vpc_rule(source, where, "ingress" if kind.endswith("ingress_rule") else "egress",
                                         attributes)
    if version != [STATE_VERSION]:
        raise StateFormatError(f"state format version {version[0] if version else 'missing'}, "
                               f"{STATE_VERSION} expected")
    return found


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def protocol(value: Any) -> str:
    text = _text(value).lower()
    return _PROTOCOLS.get(text, text)


def _arn_place(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return (parts[4], parts[3]) if len(parts) > 5 else ("", "")


def _group(source: str, where: str, attributes: Mapping[str, Any]) -> DeclaredGroup:
    account, region = _arn_place(_text(attributes.get("arn")))
    return DeclaredGroup(source, where, _text(attributes.get("id")), _text(attributes.get("name")),
                         _text(attributes.get("vpc_id")), account or _text(attributes.get("owner_id")), region)


def _block_rules(source: str, where: str, group_id: str, direction: str, rule_id: str,
                 block: Mapping[str, Any]) -> list[DeclaredRule]:
    """One rule per peer of an inline block or an ``aws_security_group_rule`` (which name peers alike)."""
    peers: list[tuple[str, str]] = [("ipv4", _text(p)) for p in block.get("cidr_blocks") or ()]
    peers += [("ipv6", _text(p)) for p in block.get("ipv6_cidr_blocks") or ()]
    peers += [("prefix-list", _text(p)) for p in block.get("prefix_list_ids") or ()]
    peers += [("security-group", _text(p)) for p in block.get("security_groups") or ()]
    if block.get("source_security_group_id"):
        peers.append(("security-group", _text(block["source_security_group_id"])))
    if block.get("self"):
        peers.append(("security-group", group_id))
    head = (source, where, group_id, direction)
    ports = (_text(block.get("from_port")), _text(block.get("to_port")))
    tail = (_text(block.get("description")),)
    # A rule id names one rule: the resource records it only when it has a single peer.
    one_id = rule_id if len(peers) == 1 else ""
    return [DeclaredRule(*head, one_id, protocol(block.get("protocol")), *ports, kind, peer, *tail)
            for kind, peer in peers]


def _vpc_rule(source: str, where: str, direction: str, attributes: Mapping[str, Any]) -> list[DeclaredRule]:
    for name, kind in (("cidr_ipv4", "ipv4"), ("cidr_ipv6", "ipv6"), ("prefix_list_id", "prefix-list"),
                       ("referenced_security_group_id", "security-group")):
        if attributes.get(name):
            peer_type, peer = kind, _text(attributes[name])
            break
    else:
        return []
    rule_id = _text(attributes.get("security_group_rule_id") or attributes.get("id"))
    return [DeclaredRule(source, where, _text(attributes.get("security_group_id")), direction, rule_id,
                         protocol(attributes.get("ip_protocol")), _text(attributes.get("from_port")),
                         _text(attributes.get("to_port")), peer_type, peer, _text(attributes.get("description")))]


# --------------------------------------------------------------------------- where the states are


@dataclass(frozen=True)
class Location:
    """One entry of ``iac_state_locations``: a state object (``key``) or the states under a ``prefix``."""

    bucket: str
    key: str = ""
    prefix: str = ""
    role_arn: str = ""


def locations_from_env(env: Environment) -> tuple[Location, ...]:
    """``IAC_STATE_LOCATIONS``: the JSON list modules/sg-inventory writes from the validated input."""
    raw = settings.text(env, "IAC_STATE_LOCATIONS")
    if not raw:
        return ()
    try:
        given = json.loads(raw)
    except ValueError as exc:
        raise settings.SettingsError(f"IAC_STATE_LOCATIONS is not JSON: {exc}") from None
    if not isinstance(given, list) or not all(isinstance(g, dict) and isinstance(g.get("bucket"), str)
                                              for g in given):
        raise settings.SettingsError("IAC_STATE_LOCATIONS must be a JSON list of objects with a bucket")
    found = []
    for g in given:
        key, prefix = _text(g.get("key")), _text(g.get("prefix"))
        if bool(key) == bool(prefix):
            raise settings.SettingsError("each of IAC_STATE_LOCATIONS names either a key or a prefix")
        found.append(Location(g["bucket"], key, prefix, _text(g.get("role_arn"))))
    return tuple(found)


def _keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents") or ():
            yield item["Key"]


def state_keys(s3: Any, location: Location) -> list[str]:
    """The state objects of a location: the key and its workspaces' copies, or the ``.tfstate`` objects under
    the prefix and under its workspaces' copies of it."""
    in_workspace = re.compile(re.escape(WORKSPACES) + r"[^/]+/(.*)")

    def wanted(rest: str) -> bool:
        if location.key:
            return rest == location.key
        return rest.startswith(location.prefix) and rest.endswith(STATE_SUFFIX)

    found = [location.key] if location.key else [k for k in _keys(s3, location.bucket, location.prefix)
                                                 if wanted(k)]
    for key in _keys(s3, location.bucket, WORKSPACES):
        match = in_workspace.fullmatch(key)
        if match and wanted(match.group(1)):
            found.append(key)
    return sorted(set(found))


def read_location(s3: Any, location: Location) -> Declared:
    """Every state of a location, each object read once (any error raised: never an empty source)."""
    found = Declared()
    for key in state_keys(s3, location):
        uri = f"s3://{location.bucket}/{key}"
        body = s3.get_object(Bucket=location.bucket, Key=key)["Body"].read()
        try:
            declared = parse_state(body, uri)
        finally:
            del body
        log.info("iac_state_read", source=uri, groups=len(declared.groups), rules=len(declared.rules))
        found.extend(declared)
    return found


def location_client(location: Location, central: Callable[[], Any]) -> Any:
    """An S3 client for the location: the function's own, or one with the location's role assumed."""
    if not location.role_arn:
        return central()
    owner = location.role_arn.split(":")[4] if location.role_arn.count(":") >= 5 else ""
    credentials = accounts.assume_role(owner, location.role_arn, "sgwatch-iac-state")
    return aws.Target(credentials).client("s3", None)


def read_locations(locations: Iterable[Location], s3: Callable[[], Any]) -> Declared:
    """What every location declares (each state object read once)."""
    found = Declared()
    for location in locations:
        found.extend(read_location(location_client(location, s3), location))
    return found


def to_json(declared: Declared) -> bytes:
    """The declared groups and rules alone (no other value of any state), for the pairs of a fanned-out run."""
    return json.dumps({"sources": declared.sources,
                       "groups": [astuple(g) for g in declared.groups],
                       "rules": [astuple(r) for r in declared.rules]}, separators=(",", ":")).encode()


def from_json(body: bytes) -> Declared:
    found = json.loads(body)
    return Declared([DeclaredGroup(*g) for g in found["groups"]], [DeclaredRule(*r) for r in found["rules"]],
                    list(found["sources"]))


class DeclaredOnce:
    """What the sources declare, read at most once per invocation by whichever of its pairs (threads) needs it
    first; a read that failed fails every pair with the same error, never an empty declaration."""

    def __init__(self, read: Callable[[], Declared]) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._declared: Declared | None = None
        self._error: Exception | None = None

    def declared(self) -> Declared:
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._declared is None:
                try:
                    self._declared = self._read()
                except Exception as exc:
                    self._error = exc
                    raise
            return self._declared


def states_once(locations: Iterable[Location], s3: Callable[[], Any]) -> DeclaredOnce:
    """The states of ``locations``, read at most once per invocation (see :class:`DeclaredOnce`)."""
    found = tuple(locations)
    return DeclaredOnce(lambda: read_locations(found, s3))
