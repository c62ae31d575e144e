"""A :data:`sgwatch.exposure.Fetch` over describe items held in memory, answering as AWS does.

Items are given per operation in AWS's response shapes (Classic load balancers, whose operation
shares ELBv2's name, under their result key ``LoadBalancerDescriptions``); a call narrowed to some values
answers as the API's filter or argument would: the interfaces carrying a group, the route
tables of some VPCs, the prefix lists of some ids, the listeners of one load balancer (items
keyed by its ARN) and the entries of one prefix list (keyed by its id). Every call is recorded;
an operation listed in ``failing`` raises the ClientError AWS would send.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from sgwatch import exposure

_BY_VALUE = {  # operation -> how an item matches one of the call's values
    "DescribeNetworkInterfaces": lambda item: [g.get("GroupId") for g in item.get("Groups") or ()],
    "DescribeRouteTables": lambda item: [item.get("VpcId")],
    "DescribeManagedPrefixLists": lambda item: [item.get("PrefixListId")],
}
KEYED = ("DescribeListeners", "GetManagedPrefixListEntries")  # items: {argument value: [items]}


class FakeDescribe:
    def __init__(self, items: Mapping[str, Any], failing: Mapping[str, str] | None = None) -> None:
        self.items = items
        self.failing = dict(failing or {})
        self.calls: list[tuple[str, tuple[str, ...], dict[str, Any]]] = []

    def __call__(self, call: exposure.DescribeCall, values: Sequence[str]) -> Iterable[Mapping[str, Any]]:
        self.calls.append((call.operation, tuple(values), call.request(values)))
        if call.operation in self.failing:
            code = self.failing[call.operation]
            raise ClientError({"Error": {"Code": code, "Message": "refused"}}, call.operation)
        if call.operation in KEYED:
            return list(self.items.get(call.operation, {}).get(values[0], ()))
        found = list(self.items.get(call.result_key if call.service == "elb" else call.operation, ()))
        if values and call.operation in _BY_VALUE:
            found = [i for i in found if set(_BY_VALUE[call.operation](i)) & set(values)]
        return found

    def operations(self) -> list[str]:
        return [operation for operation, _, _ in self.calls]
