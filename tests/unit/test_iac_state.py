"""Declared rules from Terraform state (format version 4): the four resource styles in modules, count and
for_each instances and workspaces; nothing else of the state leaves the parser."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest

from sgwatch import iac_state
from sgwatch.iac_state import Location, StateFormatError, parse_state

SECRET = "hunter2-super-secret-value"
GROUP_ARN = "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0web"


def state(*resources: dict[str, Any], outputs: dict[str, Any] | None = None, version: int = 4) -> bytes:
    return json.dumps({
        "version": version, "terraform_version": "1.9.0", "serial": 3, "lineage": "x",
        "outputs": outputs or {"db_password": {"value": SECRET, "type": "string", "sensitive": True}},
        "resources": [
            {"mode": "managed", "type": "aws_db_instance", "name": "db", "provider": "provider[\"x\"]",
             "instances": [{"attributes": {"password": SECRET, "id": "db-1"}}]},
            *resources,
        ],
        "check_results": None,
    }, indent=2).encode()


def resource(kind: str, name: str, *instances: dict[str, Any], module: str = "", mode: str = "managed"):
    found = {"mode": mode, "type": kind, "name": name, "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
             "instances": list(instances)}
    if module:
        found["module"] = module
    return found


def inline_group(group_id="sg-0web", ingress=(), egress=(), arn=GROUP_ARN, **extra):
    return {"schema_version": 1, "attributes": {
        "id": group_id, "arn": arn, "name": "web", "vpc_id": "vpc-1", "owner_id": "123456789012",
        "ingress": list(ingress), "egress": list(egress), "tags": {"ManagedBy": "terraform"}}, **extra}


def block(from_port=443, to_port=443, protocol="tcp", cidrs=(), ipv6=(), groups=(), self_=False, description=""):
    return {"cidr_blocks": list(cidrs), "ipv6_cidr_blocks": list(ipv6), "prefix_list_ids": [],
            "security_groups": list(groups), "self": self_, "from_port": from_port, "to_port": to_port,
            "protocol": protocol, "description": description}


def test_inline_rules_become_one_declared_rule_per_peer_with_their_address():
    doc = state(resource("aws_security_group", "web", inline_group(
        ingress=[block(cidrs=["10.0.0.0/8", "192.168.0.0/16"], ipv6=["::/0"], description="https")],
        egress=[block(0, 0, "-1", cidrs=["0.0.0.0/0"]), block(5432, 5432, groups=["sg-0db"], self_=True)])))
    found = parse_state(doc, "s3://states/net.tfstate")
    (group,) = found.groups
    assert (group.group_id, group.address, group.account_id, group.region) == (
        "sg-0web", "aws_security_group.web", "123456789012", "eu-west-1")
    shapes = {(r.direction, r.protocol, r.from_port, r.to_port, r.peer_type, r.peer, r.description)
              for r in found.rules}
    assert shapes == {
        ("ingress", "tcp", "443", "443", "ipv4", "10.0.0.0/8", "https"),
        ("ingress", "tcp", "443", "443", "ipv4", "192.168.0.0/16", "https"),
        ("ingress", "tcp", "443", "443", "ipv6", "::/0", "https"),
        ("egress", "-1", "0", "0", "ipv4", "0.0.0.0/0", ""),
        ("egress", "tcp", "5432", "5432", "security-group", "sg-0db", ""),
        ("egress", "tcp", "5432", "5432", "security-group", "sg-0web", ""),  # self
    }
    assert {r.source for r in found.rules} == {"s3://states/net.tfstate"}
    assert {r.rule_id for r in found.rules} == {""}


def test_separate_rule_resources_in_modules_with_count_and_for_each_instances():
    doc = state(
        resource("aws_security_group_rule", "ssh",
                 {"index_key": 0, "attributes": {
                     "type": "ingress", "security_group_id": "sg-0app", "security_group_rule_id": "sgr-0ssh",
                     "source_security_group_id": None, "cidr_blocks": ["10.1.0.0/16"], "from_port": 22,
                     "to_port": 22, "protocol": "6", "description": "bastion"}},
                 {"index_key": 1, "attributes": {
                     "type": "egress", "security_group_id": "sg-0app", "security_group_rule_id": "",
                     "source_security_group_id": "111122223333/sg-0peer", "from_port": 0, "to_port": 65535,
                     "protocol": "tcp"}},
                 module='module.network["eu"]'),
        resource("aws_vpc_security_group_ingress_rule", "https",
                 {"index_key": "public", "attributes": {
                     "id": "sgr-0https", "security_group_rule_id": "sgr-0https", "security_group_id": "sg-0app",
                     "ip_protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_ipv4": "0.0.0.0/0",
                     "cidr_ipv6": None, "prefix_list_id": None, "referenced_security_group_id": None,
                     "description": "public", "arn": "arn:aws:ec2:eu-west-1:123456789012:security-group-rule/x"}},
                 module="module.app.module.edge"),
        resource("aws_vpc_security_group_egress_rule", "all",
                 {"attributes": {"id": "sgr-0all", "security_group_rule_id": "sgr-0all",
                                 "security_group_id": "sg-0app", "ip_protocol": "-1", "from_port": None,
                                 "to_port": None, "prefix_list_id": "pl-0s3", "description": None}}),
        resource("aws_security_group_rule", "from_data", {"attributes": {"type": "ingress"}}, mode="data"),
    )
    found = parse_state(doc, "s3://states/app.tfstate")
    got = {(r.address, r.direction, r.rule_id, r.protocol, r.from_port, r.to_port, r.peer_type, r.peer)
           for r in found.rules}
    assert got == {
        ('module.network["eu"].aws_security_group_rule.ssh[0]', "ingress", "sgr-0ssh", "tcp", "22", "22", "ipv4",
         "10.1.0.0/16"),
        ('module.network["eu"].aws_security_group_rule.ssh[1]', "egress", "", "tcp", "0", "65535",
         "security-group", "111122223333/sg-0peer"),
        ('module.app.module.edge.aws_vpc_security_group_ingress_rule.https["public"]', "ingress", "sgr-0https", "tcp",
         "443", "443", "ipv4", "0.0.0.0/0"),
        ("aws_vpc_security_group_egress_rule.all", "egress", "sgr-0all", "-1", "", "", "prefix-list", "pl-0s3"),
    }
    assert found.groups == []


def test_a_rule_id_names_a_rule_only_when_the_resource_has_one_peer():
    doc = state(resource("aws_security_group_rule", "two", {"attributes": {
        "type": "ingress", "security_group_id": "sg-1", "security_group_rule_id": "sgr-0first",
        "cidr_blocks": ["10.0.0.0/8", "10.1.0.0/16"], "from_port": 80, "to_port": 80, "protocol": "tcp"}}))
    assert {r.rule_id for r in parse_state(doc, "s3://b/k").rules} == {""}


def test_deposed_objects_are_not_declared():
    doc = state(resource("aws_security_group", "web", inline_group(), inline_group("sg-0old", deposed="00aa")))
    assert [g.group_id for g in parse_state(doc, "s3://b/k").groups] == ["sg-0web"]


@pytest.mark.parametrize("body", [b"not json", b'{"version": 3, "resources": []}', b"{}", b'{"version": 4,',
                                  b"[]"])
def test_what_is_not_a_version_4_state_is_refused_without_quoting_it(body):
    with pytest.raises(StateFormatError) as raised:
        parse_state(body, "s3://b/k")
    assert SECRET not in str(raised.value)


def test_a_secret_elsewhere_in_the_state_never_reaches_the_result_or_the_logs(caplog, capsys):
    doc = state(resource("aws_security_group", "web", inline_group(ingress=[block(cidrs=["10.0.0.0/8"])])),
                outputs={"key": {"value": {"private_key": SECRET}, "type": "object"}})
    caplog.set_level(logging.DEBUG)
    found = parse_state(doc, "s3://b/k")
    assert SECRET not in repr(found)
    assert SECRET not in caplog.text + "".join(capsys.readouterr())


def test_a_large_state_is_walked_resource_by_resource():
    noise = [resource("aws_instance", f"i{n}", {"attributes": {"user_data": SECRET * 50}}) for n in range(2000)]
    doc = state(*noise, resource("aws_security_group", "web", inline_group(ingress=[block(cidrs=["10.0.0.0/8"])])))
    assert len(parse_state(doc, "s3://b/k").rules) == 1


@pytest.fixture
def bucket(evidence_account):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="states")
    doc = state(resource("aws_security_group", "web", inline_group(ingress=[block(cidrs=["10.0.0.0/8"])])))
    for key in ("net/terraform.tfstate", "env:/staging/net/terraform.tfstate", "env:/prod/net/terraform.tfstate",
                "env:/prod/other/terraform.tfstate", "apps/a.tfstate", "apps/b/terraform.tfstate", "apps/notes.txt",
                "env:/dev/apps/c.tfstate"):
        s3.put_object(Bucket="states", Key=key, Body=doc)
    return s3


def test_a_key_covers_its_workspaces(bucket):
    keys = iac_state.state_keys(bucket, Location("states", key="net/terraform.tfstate"))
    assert keys == ["env:/prod/net/terraform.tfstate", "env:/staging/net/terraform.tfstate", "net/terraform.tfstate"]


def test_a_prefix_covers_the_states_under_it_and_under_its_workspaces(bucket):
    keys = iac_state.state_keys(bucket, Location("states", prefix="apps/"))
    assert keys == ["apps/a.tfstate", "apps/b/terraform.tfstate", "env:/dev/apps/c.tfstate"]


def test_each_state_is_read_once_per_run_whatever_the_pairs_that_ask(bucket):
    calls: list[str] = []
    bucket.meta.events.register("provide-client-params.s3.GetObject", lambda params, **_: calls.append(params["Key"]))
    once = iac_state.states_once([Location("states", key="net/terraform.tfstate")], lambda: bucket)
    first, second = once.declared(), once.declared()
    assert first is second
    assert sorted(calls) == ["env:/prod/net/terraform.tfstate", "env:/staging/net/terraform.tfstate",
                             "net/terraform.tfstate"]
    assert [r.source for r in first.rules] == [f"s3://states/{k}" for k in sorted(calls)]


def test_a_state_that_cannot_be_read_fails_every_pair_never_an_empty_declaration(bucket):
    once = iac_state.states_once([Location("states", key="gone/terraform.tfstate")], lambda: bucket)
    for _ in range(2):
        with pytest.raises(Exception, match="NoSuchKey"):
            once.declared()


@pytest.mark.parametrize("raw, message", [
    ("[1]", "JSON list of objects"), ('[{"bucket": "b"}]', "either a key or a prefix"),
    ('[{"bucket": "b", "key": "k", "prefix": "p/"}]', "either a key or a prefix"), ("{", "not JSON"),
])
def test_bad_locations_fail_the_settings(raw, message):
    with pytest.raises(ValueError, match=message):
        iac_state.locations_from_env({"IAC_STATE_LOCATIONS": raw})
