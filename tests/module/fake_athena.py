"""Athena's workgroup and named-query API on loopback, for the AWS provider and the tests' boto3 clients.

moto's Athena cannot hold the module's workgroup: its ListTagsForResource answers "does not exist" for a workgroup
without tags (the provider lists them after every create and read), and it has no UpdateWorkGroup or
DeleteNamedQuery (an update in place, a destroy). This fake answers the calls the provider and the tests make,
in the JSON 1.1 protocol (``X-Amz-Target: AmazonAthena.<Operation>``) with the request and response shapes of the
Athena API Reference, and keeps what it is given. Exported as ``AWS_ENDPOINT_URL_ATHENA`` (tests/module/
emulator.py), the service-specific endpoint both the provider and boto3 read; every other service stays on moto.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from typing import Any

from tests.unit.loopback import LoopbackServer

WORKGROUP_ARN = re.compile(r"^arn:aws:athena:[a-z0-9-]+:\d{12}:workgroup/(?P<name>[A-Za-z0-9._-]{1,128})$")
# ConfigurationUpdates members that set a Configuration member of the same name (the others are Remove* flags).
UPDATED_AS_IS = ("EnforceWorkGroupConfiguration", "PublishCloudWatchMetricsEnabled", "BytesScannedCutoffPerQuery",
                 "RequesterPaysEnabled", "EnableMinimumEncryptionConfiguration")
RESULT_UPDATES = {"OutputLocation": "RemoveOutputLocation", "EncryptionConfiguration": "RemoveEncryptionConfiguration",
                  "ExpectedBucketOwner": "RemoveExpectedBucketOwner", "AclConfiguration": "RemoveAclConfiguration"}


class AthenaError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _invalid(message: str) -> AthenaError:
    return AthenaError("InvalidRequestException", message)


class FakeAthena(LoopbackServer):
    content_type = "application/x-amz-json-1.1"

    def __init__(self) -> None:
        super().__init__()
        self.url = self.origin
        self.workgroups: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.named_queries: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def respond(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        operation = headers.get("x-amz-target", "").removeprefix("AmazonAthena.")
        handler = getattr(self, "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", operation).lower(), None)
        if handler is None:
            return 400, {}, {"__type": "UnknownOperationException", "Message": f"{operation} is not answered"}
        try:
            with self._lock:
                return 200, {}, handler(json.loads(body or b"{}"))
        except AthenaError as error:
            return 400, {"x-amzn-ErrorType": error.code}, {"__type": error.code, "Message": str(error)}

    # --- workgroups -----------------------------------------------------------------------------------------

    def _workgroup(self, name: str) -> dict[str, Any]:
        if name not in self.workgroups:
            raise _invalid(f"WorkGroup {name} is not found.")
        return self.workgroups[name]

    def _create_work_group(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        if name in self.workgroups:
            raise _invalid(f"WorkGroup {name} is already created")
        configuration = copy.deepcopy(request.get("Configuration", {}))
        configuration.setdefault("EnforceWorkGroupConfiguration", True)
        configuration.setdefault("PublishCloudWatchMetricsEnabled", True)
        configuration.setdefault("RequesterPaysEnabled", False)
        configuration["EngineVersion"] = self._engine(configuration.get("EngineVersion"))
        self.workgroups[name] = {"Name": name, "State": "ENABLED", "Configuration": configuration,
                                 "Description": request.get("Description", ""), "CreationTime": time.time()}
        self.tags[name] = {t["Key"]: t["Value"] for t in request.get("Tags", [])}
        return {}

    @staticmethod
    def _engine(requested: dict[str, Any] | None) -> dict[str, str]:
        selected = (requested or {}).get("SelectedEngineVersion", "AUTO")
        return {"SelectedEngineVersion": selected,
                "EffectiveEngineVersion": "Athena engine version 3" if selected == "AUTO" else selected}

    def _get_work_group(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"WorkGroup": self._workgroup(request["WorkGroup"])}

    def _update_work_group(self, request: dict[str, Any]) -> dict[str, Any]:
        workgroup = self._workgroup(request["WorkGroup"])
        if "Description" in request:
            workgroup["Description"] = request["Description"]
        if "State" in request:
            workgroup["State"] = request["State"]
        updates = request.get("ConfigurationUpdates", {})
        configuration = workgroup["Configuration"]
        for member in UPDATED_AS_IS:
            if member in updates:
                configuration[member] = updates[member]
        if updates.get("RemoveBytesScannedCutoffPerQuery"):
            configuration.pop("BytesScannedCutoffPerQuery", None)
        if "EngineVersion" in updates:
            configuration["EngineVersion"] = self._engine(updates["EngineVersion"])
        result_updates = updates.get("ResultConfigurationUpdates", {})
        result = configuration.setdefault("ResultConfiguration", {})
        for member, remove in RESULT_UPDATES.items():
            if result_updates.get(remove):
                result.pop(member, None)
            elif member in result_updates:
                result[member] = result_updates[member]
        return {}

    def _delete_work_group(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["WorkGroup"]
        self._workgroup(name)
        queries = [i for i, q in self.named_queries.items() if q["WorkGroup"] == name]
        if queries and not request.get("RecursiveDeleteOption"):
            raise _invalid(f"WorkGroup {name} is not empty")
        for query_id in queries:
            del self.named_queries[query_id]
        del self.workgroups[name], self.tags[name]
        return {}

    # --- tags (of workgroups, the only taggable resource the module has) ----------------------------------

    def _tagged(self, arn: str) -> dict[str, str]:
        found = WORKGROUP_ARN.match(arn)
        if not found or found["name"] not in self.workgroups:
            raise AthenaError("ResourceNotFoundException", f"Resource {arn} does not exist")
        return self.tags[found["name"]]

    def _list_tags_for_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        tags = self._tagged(request["ResourceARN"])
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}

    def _tag_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        self._tagged(request["ResourceARN"]).update({t["Key"]: t["Value"] for t in request["Tags"]})
        return {}

    def _untag_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        tags = self._tagged(request["ResourceARN"])
        for key in request["TagKeys"]:
            tags.pop(key, None)
        return {}

    # --- named queries --------------------------------------------------------------------------------------

    def _create_named_query(self, request: dict[str, Any]) -> dict[str, Any]:
        workgroup = request.get("WorkGroup", "primary")
        self._workgroup(workgroup)
        query_id = str(uuid.uuid4())
        self.named_queries[query_id] = {
            "Name": request["Name"], "Description": request.get("Description", ""), "Database": request["Database"],
            "QueryString": request["QueryString"], "NamedQueryId": query_id, "WorkGroup": workgroup}
        return {"NamedQueryId": query_id}

    def _named_query(self, query_id: str) -> dict[str, Any]:
        if query_id not in self.named_queries:
            raise _invalid(f"NamedQuery {query_id} was not found")
        return self.named_queries[query_id]

    def _get_named_query(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"NamedQuery": self._named_query(request["NamedQueryId"])}

    def _delete_named_query(self, request: dict[str, Any]) -> dict[str, Any]:
        self._named_query(request["NamedQueryId"])
        del self.named_queries[request["NamedQueryId"]]
        return {}

    def _list_named_queries(self, request: dict[str, Any]) -> dict[str, Any]:
        workgroup = request.get("WorkGroup", "primary")
        self._workgroup(workgroup)
        return {"NamedQueryIds": sorted(i for i, q in self.named_queries.items() if q["WorkGroup"] == workgroup)}
