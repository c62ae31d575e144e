"""A fake Slack Web API: a real HTTP server on loopback.

It implements what the report calls through slack_sdk: ``files.getUploadURLExternal``,
the upload URL it hands out (a raw POST of the file bytes), ``files.completeUploadExternal``
(the three steps of ``files_upload_v2``), ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``,
``users.lookupByEmail``, ``usergroups.users.list`` and ``views.open``.
Every request is recorded. Faults can be scripted per method: answer with an HTTP status
(429 with ``Retry-After``, 500, ...) a number of times, or refuse with a Slack error code
(``invalid_auth``, ``not_in_channel``) every time. Each ``chat.postMessage`` and ``chat.update`` is held to Slack's
documented limits (tests/contract.py): a breach is answered as Slack would (``invalid_blocks``,
or a truncation warning) and fails the test.

Used by the unit tests and by the module test (the handler runs in a subprocess there and
reaches the server through ``SLACK_API_URL``).
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests import contract
from tests.unit.loopback import LoopbackServer


@dataclass
class Request:
    method: str  # Slack API method ("chat.postMessage") or "upload"
    path: str
    headers: dict[str, str]
    params: dict[str, Any]  # query string, form body and JSON body merged
    body: bytes


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    times: int | None = None  # None: every time
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack(LoopbackServer):
    """``with FakeSlack(token="xoxb-test") as slack: ... slack.url ...``"""

    content_type = "application/json; charset=utf-8"

    def __init__(self, token: str = "xoxb-test", users_by_email: dict[str, str] | None = None,
                 user_groups: dict[str, list[str]] | None = None) -> None:
        self.token = token
        self.users_by_email = dict(users_by_email or {})
        self.user_groups = dict(user_groups or {})
        self.requests: list[Request] = []
        self.uploads: dict[str, bytes] = {}
        self.faults: dict[str, list[Fault]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        super().__init__()

    @property
    def url(self) -> str:
        """The base URL to give slack_sdk (``SLACK_API_URL``)."""
        return f"{self.origin}/api/"

    # -- scripting
    def fail(self, method: str, status: int = 200, error: str | None = None, times: int | None = None,
             headers: dict[str, str] | None = None) -> None:
        """Answer ``method`` with ``status`` (and ``{"ok": false, "error": error}``) ``times`` times."""
        self.faults.setdefault(method, []).append(Fault(status, error, times, dict(headers or {})))

    # -- inspection
    def calls(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method]

    # -- serving
    def _next_fault(self, method: str) -> Fault | None:
        with self._lock:
            for fault in self.faults.get(method, []):
                if fault.times is None:
                    return fault
                if fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _answer(self, request: Request) -> tuple[int, dict[str, str], dict[str, Any]]:
        fault = self._next_fault(request.method)
        if fault is not None:
            payload: dict[str, Any] = {"ok": False, "error": fault.error or f"http_{fault.status}"}
            return fault.status, fault.headers, payload
        if request.method == "upload":
            file_id = request.path.rsplit("/", 1)[-1]
            with self._lock:
                self.uploads[file_id] = request.body
            return 200, {}, {"ok": True}
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        params = request.params
        if request.method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):08d}"
            return 200, {}, {"ok": True, "file_id": file_id, "upload_url": f"{self.origin}/upload/{file_id}"}
        if request.method == "files.completeUploadExternal":
            files = json.loads(params.get("files") or "[]")
            missing = [f["id"] for f in files if f["id"] not in self.uploads]
            if missing:
                return 200, {}, {"ok": False, "error": "file_not_found"}
            return 200, {}, {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        if request.method == "usergroups.users.list":
            members = self.user_groups.get(str(params.get("usergroup", "")))
            if members is None:
                return 200, {}, {"ok": False, "error": "no_such_subteam"}
            return 200, {}, {"ok": True, "users": members}
        if request.method == "views.open":
            view = json.loads(params["view"]) if isinstance(params.get("view"), str) else params.get("view")
            if not params.get("trigger_id") or not isinstance(view, dict):
                return 200, {}, {"ok": False, "error": "invalid_arguments"}
            return 200, {}, {"ok": True, "view": {**view, "id": f"V{next(self._ids):08d}"}}
        if request.method == "chat.postEphemeral":
            return 200, {}, {"ok": True, "message_ts": f"{next(self._ids)}.000200"}
        if request.method in ("chat.postMessage", "chat.update"):
            breaches = contract.check_slack_post(params, request.method)
            contract.RECORDER.add(breaches)
            if contract.slack_refuses(breaches):
                return 200, {}, {"ok": False, "error": "invalid_blocks"}
            answer: dict[str, Any] = {"ok": True, "channel": params.get("channel"), "ts": f"{next(self._ids)}.000100"}
            if breaches:  # only the text is too long: Slack posts it truncated, with a warning
                answer["response_metadata"] = {"warnings": ["message_truncated"]}
            return 200, {}, answer
        if request.method == "users.lookupByEmail":
            user = self.users_by_email.get(str(params.get("email", "")))
            if user is None:
                return 200, {}, {"ok": False, "error": "users_not_found"}
            return 200, {}, {"ok": True, "user": {"id": user}}
        return 200, {}, {"ok": False, "error": "unknown_method"}

    def respond(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        split = urlsplit(path)
        params: dict[str, Any] = dict(parse_qsl(split.query))
        content_type = headers.get("content-type") or ""
        if split.path.startswith("/upload/"):
            method = "upload"
        else:
            method = split.path.rsplit("/", 1)[-1]
            if "json" in content_type and body:
                params.update(json.loads(body))
            elif "x-www-form-urlencoded" in content_type and body:
                params.update(parse_qsl(body.decode("utf-8")))
        request = Request(method, split.path, headers, params, body)
        with self._lock:
            self.requests.append(request)
        return self._answer(request)
