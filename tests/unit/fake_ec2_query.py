"""An EC2 Query-protocol endpoint on loopback: a fake answers each action with a dict in the operation's
botocore output shape, and this serves it as the XML AWS sends (or an error payload as it is)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape as xml_escape

import boto3

from tests.unit.loopback import LoopbackServer


def _xml(shape: Any, value: Any) -> str:
    """EC2 Query-protocol XML of ``value`` for a botocore output shape."""
    if shape.type_name == "structure":
        parts = []
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                tag = member.serialization.get("name") or name[0].lower() + name[1:]
                parts.append(f"<{tag}>{_xml(member, value[name])}</{tag}>")
        return "".join(parts)
    if shape.type_name == "list":
        tag = shape.member.serialization.get("name") or "item"
        return "".join(f"<{tag}>{_xml(shape.member, v)}</{tag}>" for v in value)
    if shape.type_name == "boolean":
        return "true" if value else "false"
    return xml_escape(str(value))



class FakeEc2Server(LoopbackServer):
    """Serves a fake (``handle(action, params)``: a status and an output-shaped dict, or a raw payload) on a
    free loopback port (``url``); a context manager."""

    content_type = "text/xml"

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.model = boto3.session.Session().client("ec2", region_name="us-east-1").meta.service_model
        super().__init__()
        self.url = self.origin

    def respond(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        params = parse_qs(body.decode())
        action = params["Action"][0]
        status, payload = self.fake.handle(action, params)
        if isinstance(payload, dict):
            shape = self.model.operation_model(action).output_shape
            payload = f"<{action}Response><requestId>fake</requestId>{_xml(shape, payload)}</{action}Response>"
        return status, {}, payload
