"""Change provenance: through which channel a change came, by whom, and whether change control knew.

PCI DSS 4.0 requirement 1.2.2 asks that changes to network security controls go through change
control. This module answers the assessor's questions about one CloudTrail record (the ``detail`` of
an EventBridge event, or a bare record):

* :func:`origin` -- the channel, checked in this order (the first match wins):

  ==============  ============================================================================
  Origin          When
  ==============  ============================================================================
  cloudformation  ``userIdentity.invokedBy`` or ``userAgent`` is ``cloudformation.amazonaws.com``
  terraform       the user agent contains ``Terraform/`` (new providers:
                  ``APN/1.0 HashiCorp/1.0 Terraform/1.5.7 ... terraform-provider-aws/5.31.0 ...``;
                  old ones prefix it with ``aws-sdk-go/...``)
  pulumi          a ``Pulumi`` product in the user agent (``Pulumi/1.0 Pulumi-Aws/6.0.0``)
  console         invoked by or user agent ``signin.amazonaws.com`` / ``console[.<svc>].amazonaws.com``,
                  or a browser user agent (``Mozilla/...``) on console credentials
                  (top-level ``sessionCredentialFromConsole`` is ``"true"``)
  cli             ``aws-cli/<version>`` (also AWS Tools for PowerShell)
  sdk             a known SDK product: ``Boto3/``, ``Botocore/``, ``aws-sdk-go``, ``aws-sdk-go-v2``,
                  ``aws-sdk-java``, ``aws-sdk-js``, ``aws-sdk-nodejs``, ``aws-sdk-dotnet*``,
                  ``aws-sdk-net``, ``aws-sdk-php``, ``aws-sdk-ruby*``, ``aws-sdk-rust``, ``aws-sdk-cpp``,
                  ``aws-sdk-kotlin``, ``aws-sdk-swift`` (the language is kept as detail), or a tool
                  known to replace the SDK's user agent with its own (Stratus Red Team, Go SDK)
  aws-service     invoked by another ``*.amazonaws.com`` service (Auto Scaling, ELB, EKS, ...), or a
                  user agent that is exactly such a service name
  unknown         anything else (the detail keeps the start of the user agent)
  ==============  ============================================================================

  The version found (Terraform 1.5.7, provider 5.31.0, aws-cli 2.17.0) is kept as ``detail``.
  **The user agent is chosen by the caller**: anyone can send ``Terraform/1.5.7``. The origin is a
  label for routing and review, never an authorisation, and nothing here grants or denies anything.
* :func:`principal` -- the role behind an assumed-role session, else the identity's ARN.
* :func:`change_control` -- ``approved`` / ``out-of-band`` / ``not-configured`` against the
  ``approved_change_principals`` patterns (``*`` wildcards).
* :func:`iac_managed` and :func:`manual_change` -- a console, CLI or SDK change to a group that an
  IaC tool manages: the next apply will revert it or fight it.

:func:`provenance` puts these together into one :class:`Provenance` for the alert line, the SNS
message attributes and the evidence record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .cloudtrail import unwrap
from .text import clean

CLOUDFORMATION = "cloudformation"
TERRAFORM = "terraform"
PULUMI = "pulumi"
CONSOLE = "console"
CLI = "cli"
SDK = "sdk"
AWS_SERVICE = "aws-service"
UNKNOWN = "unknown"
ORIGINS = (CLOUDFORMATION, TERRAFORM, PULUMI, CONSOLE, CLI, SDK, AWS_SERVICE, UNKNOWN)
MANUAL_ORIGINS = frozenset({CONSOLE, CLI, SDK})

APPROVED = "approved"
OUT_OF_BAND = "out-of-band"
NOT_CONFIGURED = "not-configured"
VERDICTS = (APPROVED, OUT_OF_BAND, NOT_CONFIGURED)

STACK_ID_TAG = "aws:cloudformation:stack-id"
DEFAULT_IAC_TAG_KEYS = (STACK_ID_TAG,)

LABEL = "Changed via"
MANUAL_CHANGE_WARNING = "manual change to an IaC-managed group: the next apply will revert or fight it"

DETAIL_MAX_CHARS = 120
# IAM ARNs are at most 2048 characters (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html).
PRINCIPAL_MAX_CHARS = 2048
LINE_PRINCIPAL_CHARS = 300
LINE_MAX_CHARS = 700

_CFN_SERVICE = "cloudformation.amazonaws.com"
_CONSOLE_SERVICE = re.compile(r"(?:signin|console(?:\.[a-z0-9-]+)?)\.amazonaws\.com", re.IGNORECASE)
_SERVICE = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?", re.IGNORECASE)
_VERSION = r"([0-9A-Za-z][\w.+-]{0,39})"
_TERRAFORM = re.compile(r"(?<![\w-])Terraform/" + _VERSION + "?")
_TF_PROVIDER = re.compile(r"(?<![\w-])terraform-provider-([a-z0-9-]+)/" + _VERSION)
# Not inside a host name or a path: "(+https://www.pulumi.com/)" follows the product in Pulumi's own agent.
_PULUMI = re.compile(r"(?<![\w./-])(pulumi[\w-]*)/" + _VERSION + "?", re.IGNORECASE)
_BROWSER = re.compile(r"Mozilla/\d")
_BROWSERS = (("Edge", r"Edg[A-Za-z]*/"), ("Opera", r"OPR/"), ("Firefox", r"Firefox/"), ("Chrome", r"Chrome/"),
             ("Safari", r"Version/"))
_CLI = re.compile(r"(?<![\w-])aws-cli/" + _VERSION)
_POWERSHELL = re.compile(r"(?<![\w-])AWSPowerShell(?:\.[A-Za-z]+)?/" + _VERSION)
_SDK_PRODUCT = re.compile(r"(?<![\w-])(boto3|botocore|aws-sdk-[a-z0-9]+(?:-[a-z0-9]+)*)/" + _VERSION, re.IGNORECASE)
# (product name, language); the name must match whole. Ruby's UA also names service gems (aws-sdk-ec2/...):
# those are not SDK products and are skipped.
_SDK_LANGUAGES = tuple((re.compile(name, re.IGNORECASE), language) for name, language in (
    (r"boto3|botocore", "Python"),
    (r"aws-sdk-go(?:-v2)?", "Go"),
    (r"aws-sdk-java(?:-v2)?", "Java"),
    (r"aws-sdk-(?:js|nodejs)", "JavaScript"),
    (r"aws-sdk-(?:dotnet(?:-[a-z0-9]+)*|net)", ".NET"),
    (r"aws-sdk-php", "PHP"),
    (r"aws-sdk-ruby\d?", "Ruby"),
    (r"aws-sdk-rust", "Rust"),
    (r"aws-sdk-cpp", "C++"),
    (r"aws-sdk-kotlin", "Kotlin"),
    (r"aws-sdk-swift", "Swift"),
))
# Tools that replace the whole SDK user agent with their own (Stratus Red Team sets
# "stratus-red-team_<uuid>" on its aws-sdk-go-v2 clients): (pattern, language, name).
_SDK_TOOLS = ((re.compile(r"(?<![\w-])stratus-red-team_"), "Go", "stratus-red-team"),)


@dataclass(frozen=True)
class Origin:
    """The channel a change came through (one of :data:`ORIGINS`) and what was found about it.

    A label read from caller-controlled fields, never an authorisation.
    """

    origin: str = UNKNOWN
    detail: str = ""


def origin(record: Any) -> Origin:
    """The origin of a CloudTrail record (or of an EventBridge event carrying one under ``detail``).

    Never raises: a record of any shape that matches nothing is ``unknown``. The detail is one line of
    printable text of at most :data:`DETAIL_MAX_CHARS` characters.
    """
    found = _origin(_record(record))
    return Origin(found.origin, clean(found.detail, DETAIL_MAX_CHARS))


def _origin(rec: Mapping[str, Any]) -> Origin:
    identity = rec.get("userIdentity")
    invoked_by = _string(identity.get("invokedBy")) if isinstance(identity, Mapping) else ""
    agent = _string(rec.get("userAgent"))
    from_console = _string(rec.get("sessionCredentialFromConsole")).lower() == "true" or (
        rec.get("sessionCredentialFromConsole") is True
    )
    if _CFN_SERVICE in (invoked_by.lower(), agent.lower()):
        return Origin(CLOUDFORMATION, _CFN_SERVICE)
    if _TERRAFORM.search(agent):
        return Origin(TERRAFORM, _terraform_detail(agent))
    if _PULUMI.search(agent):
        return Origin(PULUMI, _pulumi_detail(agent))
    for name in (invoked_by, agent):
        if _CONSOLE_SERVICE.fullmatch(name):
            return Origin(CONSOLE, name.lower())
    if from_console and _BROWSER.match(agent):
        return Origin(CONSOLE, _browser_detail(agent))
    cli = _CLI.search(agent)
    if cli:
        return Origin(CLI, f"aws-cli {cli.group(1)}" + (" (CloudShell)" if "exec-env/CloudShell" in agent else ""))
    powershell = _POWERSHELL.search(agent)
    if powershell:
        return Origin(CLI, f"AWS Tools for PowerShell {powershell.group(1)}")
    sdk = _sdk_detail(agent)
    if sdk:
        return Origin(SDK, sdk)
    for name in (invoked_by, agent):
        if _SERVICE.fullmatch(name):
            return Origin(AWS_SERVICE, name.lower())
    return Origin(UNKNOWN, agent or "no user agent")


def _terraform_detail(agent: str) -> str:
    version = _TERRAFORM.search(agent)
    text = f"Terraform {version.group(1)}" if version and version.group(1) else "Terraform"
    provider = _TF_PROVIDER.search(agent)
    if provider:
        name = "" if provider.group(1) == "aws" else provider.group(1) + " "
        text += f", provider {name}{provider.group(2)}"
    return text


def _pulumi_detail(agent: str) -> str:
    products = [(m.group(1), m.group(2) or "") for m in _PULUMI.finditer(agent)]
    # "Pulumi/1.0 Pulumi-Aws/6.0.0": the provider names itself after the bare "Pulumi" product.
    name, version = next((p for p in reversed(products) if p[0].lower() != "pulumi"), products[0])
    return f"{name} {version}".strip()


def _browser_detail(agent: str) -> str:
    for name, marker in _BROWSERS:
        found = re.search(marker + _VERSION, agent)
        if found:
            return f"web browser, {name} {found.group(1)}"
    return "web browser"


def _sdk_detail(agent: str) -> str:
    for product in _SDK_PRODUCT.finditer(agent):
        name, version = product.group(1), product.group(2)
        language = next((lang for pattern, lang in _SDK_LANGUAGES if pattern.fullmatch(name)), "")
        if language:
            return f"{language} SDK, {name} {version}"
    for pattern, language, tool in _SDK_TOOLS:
        if pattern.search(agent):
            return f"{language} SDK, {tool}"
    return ""


def principal(record: Any) -> str:
    """Who is accountable: the role behind an assumed-role session, else the identity's ARN.

    * ``AssumedRole`` (and any session issued by a role): ``sessionContext.sessionIssuer.arn``, the
      role ``arn:aws:iam::<account>:role/<path><name>`` rather than the per-session STS ARN;
    * ``IAMUser``, ``Root``, ``FederatedUser``, ...: ``userIdentity.arn``;
    * ``AWSService``: the invoking service (``invokedBy``, e.g. ``autoscaling.amazonaws.com``);
    * otherwise the ``principalId`` or ``accountId`` when that is all there is; ``""`` when nothing.
    """
    identity = _record(record).get("userIdentity")
    if not isinstance(identity, Mapping):
        return ""
    context = identity.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, Mapping) else None
    if isinstance(issuer, Mapping) and _string(issuer.get("arn")) and (
        _string(identity.get("type")) == "AssumedRole" or _string(issuer.get("type")) == "Role"
    ):
        found = _string(issuer.get("arn"))
    elif _string(identity.get("type")) == "AWSService":
        found = _string(identity.get("invokedBy")) or _string(identity.get("arn"))
    else:
        found = next((_string(identity.get(k)) for k in ("arn", "invokedBy", "principalId", "accountId")
                      if _string(identity.get(k))), "")
    return clean(found, PRINCIPAL_MAX_CHARS)


def change_control(principal_arn: str, patterns: Iterable[str]) -> str:
    """``approved`` when ``principal_arn`` matches a pattern, ``out-of-band`` when none does,
    ``not-configured`` when there is no pattern (blank entries do not count).

    A pattern is an IAM ARN in which ``*`` stands for any run of characters (``/`` and ``:`` included);
    every other character, ``?`` and ``[`` too, is literal. The whole ARN must match, case-sensitively
    as IAM compares ARNs: ``arn:aws:iam::*:role/Deployer`` does not match ``.../role/Deployer2``.
    """
    compiled = [_pattern(p) for p in patterns if isinstance(p, str) and p.strip()]
    if not compiled:
        return NOT_CONFIGURED
    return APPROVED if principal_arn and any(p.fullmatch(principal_arn) for p in compiled) else OUT_OF_BAND


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in text.strip().split("*")))


def iac_managed(tags: Any, tag_keys: Iterable[str] = DEFAULT_IAC_TAG_KEYS) -> bool:
    """True when the group carries CloudFormation's stack-id tag or any key of ``tag_keys``.

    ``tags`` is a ``{key: value}`` dict or the EC2 list ``[{"Key": ..., "Value": ...}]`` (CloudTrail's
    lower-case ``key``/``value`` too). Keys compare exactly, as EC2 tag keys are case-sensitive; the
    value does not matter.
    """
    wanted = {STACK_ID_TAG} | {k for k in tag_keys if isinstance(k, str) and k}
    return not wanted.isdisjoint(_tag_keys(tags))


def _tag_keys(tags: Any) -> set[str]:
    if isinstance(tags, Mapping):
        return {k for k in tags if isinstance(k, str)}
    if isinstance(tags, (list, tuple)):
        keys = (t.get("Key", t.get("key")) for t in tags if isinstance(t, Mapping))
        return {k for k in keys if isinstance(k, str)}
    return set()


def manual_change(origin: str, iac_managed: bool) -> bool:
    """A console, CLI or SDK change to an IaC-managed group: the next apply reverts or fights it."""
    return iac_managed and origin in MANUAL_ORIGINS


@dataclass(frozen=True)
class Provenance:
    """Origin, principal and change-control verdict of one change, as alerts and evidence carry them."""

    origin: str = UNKNOWN
    detail: str = ""
    principal: str = ""
    change_control: str = NOT_CONFIGURED
    manual_change: bool = False

    def to_record(self) -> dict[str, Any]:
        """The fields the evidence event record keeps."""
        return {
            "origin": self.origin,
            "origin_detail": self.detail,
            "principal": self.principal,
            "change_control": self.change_control,
            "manual_change": self.manual_change,
        }

    @classmethod
    def from_record(cls, data: Any) -> Provenance | None:
        """The provenance :meth:`to_record` wrote; ``None`` for a record without one (older records)."""
        if not isinstance(data, Mapping) or data.get("origin") not in ORIGINS:
            return None
        verdict = data.get("change_control")
        return cls(
            data["origin"],
            clean(data.get("origin_detail"), DETAIL_MAX_CHARS),
            clean(data.get("principal"), PRINCIPAL_MAX_CHARS),
            verdict if verdict in VERDICTS else NOT_CONFIGURED,
            data.get("manual_change") is True,
        )

    def attributes(self) -> dict[str, str]:
        """SNS message attributes ``origin`` and ``change_control`` (String) for subscription filter policies.

        SNS refuses an attribute whose name, type or value is empty; both values come from fixed,
        non-empty vocabularies (:data:`ORIGINS`, :data:`VERDICTS`).
        https://docs.aws.amazon.com/sns/latest/api/API_MessageAttributeValue.html
        """
        return {"origin": self.origin or UNKNOWN, "change_control": self.change_control or NOT_CONFIGURED}

    def line(self) -> str:
        """The text after ``Changed via:`` in mail and Slack: one line, caller-controlled parts cleaned.

        Slack mrkdwn escaping stays the caller's step, as for every other fact line.
        """
        channel = self.origin + (f" ({self.detail})" if self.detail else "")
        who = clean(self.principal, LINE_PRINCIPAL_CHARS) or "unknown principal"
        verdict = "not configured" if self.change_control == NOT_CONFIGURED else self.change_control
        text = f"{channel} by {who}; change control: {verdict}"
        if self.manual_change:
            text += f"; WARNING: {MANUAL_CHANGE_WARNING}"
        return clean(text, LINE_MAX_CHARS)


def provenance(
    record: Any,
    approved_principals: Iterable[str] = (),
    tags: Any = None,
    iac_tag_keys: Iterable[str] = DEFAULT_IAC_TAG_KEYS,
) -> Provenance:
    """The provenance of one change: ``record`` as for :func:`origin`, ``approved_principals`` the
    ``approved_change_principals`` patterns, ``tags`` the group's tags (dict or EC2 list), and
    ``iac_tag_keys`` the ``iac_managed_tag_keys`` setting."""
    found = origin(record)
    who = principal(record)
    return Provenance(
        found.origin,
        found.detail,
        who,
        change_control(who, approved_principals),
        manual_change(found.origin, iac_managed(tags, iac_tag_keys)),
    )


def _record(event: Any) -> dict[str, Any]:
    return unwrap(event)[1]


def _string(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
