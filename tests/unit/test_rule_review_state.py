"""The incremental rule review (sgwatch.rule_review_state): a run reuses the previous run's lines for the groups
nothing can have changed in, and its report is byte for byte the one a full review writes."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import given, settings, strategies as st

from sgwatch.csvio import to_csv
from sgwatch.evidence import EvidenceStore, series_prefix, stamp
from sgwatch.justification import Entry, Justification, Sources, TagKeys, parse_register
from sgwatch.rule_review import EXPIRED, EXPIRING, REVIEW_HEADER, Region, review
from sgwatch.rule_review_record import record_review, state_key
from sgwatch.rule_review_state import Previous, Snapshot, parse_state, review_incrementally
from sgwatch.rules import SNAPSHOT_HEADER, flatten_rule_rows
from sgwatch.snapshots import group_spans

ACCOUNT, REGION = "111122223333", "eu-west-1"
TODAY = date(2026, 12, 6)
PEERS = ({"CidrIpv4": "10.0.0.0/8"}, {"CidrIpv4": "10.1.0.0/16"}, {"CidrIpv4": "0.0.0.0/0"},
         {"CidrIpv6": "2001:db8::/32"}, {"PrefixListId": "pl-1"}, {"PrefixListId": "pl-gone"},
         {"ReferencedGroupInfo": {"GroupId": "sg-0", "UserId": ACCOUNT}},
         {"ReferencedGroupInfo": {"GroupId": "sg-deleted", "UserId": ACCOUNT}})
PORTS = (("tcp", 22, 22), ("tcp", 0, 1024), ("tcp", 443, 443), ("-1", -1, -1), ("udp", 53, 53))
EXPIRIES = ("", "2026-12-01", "2026-12-08", "2026-12-20", "2026-12-25", "2027-03-01", "soon", "=cmd()")
REGISTER = b"GroupId,GroupName,Direction,Protocol,FromPort,ToPort,Peer,Justification,Owner,Ticket,Expires\n" \
           b",web-*,ingress,tcp,443,443,,public web,web-team,T-1,2026-12-15\n"


def estate(rnd: random.Random, groups: int) -> dict[str, Any]:
    """Groups (two VPCs, two names that are register patterns) and their rules, from few shapes so that
    duplicates and shadowed rules occur; tags on some rules and groups."""
    group_list = [{"GroupId": f"sg-{g}", "GroupName": f"web-{g}" if g % 3 == 0 else f"app-{g}",
                   "Description": "", "VpcId": f"vpc-{g % 2}", "OwnerId": ACCOUNT} for g in range(groups)]
    rules = {}
    for n in range(groups * 3):
        rules[f"sgr-{n:03d}"] = new_rule(rnd, n, f"sg-{rnd.randrange(groups)}")
    rule_tags = {r: tags(rnd) for r in rules if rnd.random() < 0.6}
    group_tags = {g["GroupId"]: tags(rnd) for g in group_list if rnd.random() < 0.3}
    return {"groups": group_list, "rules": rules, "rule_tags": rule_tags, "group_tags": group_tags,
            "stale": {}, "register": [], "lists": frozenset({"pl-1", "pl-gone"}), "today": TODAY}


def new_rule(rnd: random.Random, n: int, group_id: str) -> dict[str, Any]:
    protocol, low, high = rnd.choice(PORTS)
    return {"SecurityGroupRuleId": f"sgr-{n:03d}", "GroupId": group_id, "GroupOwnerId": ACCOUNT,
            "IsEgress": rnd.random() < 0.2, "IpProtocol": protocol, "FromPort": low, "ToPort": high,
            **rnd.choice(PEERS)}


def tags(rnd: random.Random) -> dict[str, str]:
    found = {"justification": rnd.choice(("business need", "=HYPERLINK(x)", "vendor, \"quoted\"")),
             "owner": rnd.choice(("team-a", "team-b", "@ops"))}
    expires = rnd.choice(EXPIRIES)
    return {**found, "expires": expires} if expires else found


def edit(rnd: random.Random, world: dict[str, Any]) -> None:
    """One change between two runs: a rule edited, removed or added, a tag, the stale references, the register,
    the prefix lists, the day, or a group given another's rules."""
    rules, kind = world["rules"], rnd.randrange(10)
    rule_ids = sorted(rules)
    if kind == 0 and rule_ids:
        rule = rules[rnd.choice(rule_ids)]
        rules[rule["SecurityGroupRuleId"]] = {**new_rule(rnd, 0, rule["GroupId"]),
                                              "SecurityGroupRuleId": rule["SecurityGroupRuleId"]}
    elif kind == 1 and rule_ids:
        del rules[rnd.choice(rule_ids)]
    elif kind == 2:
        n = 500 + len(rules)
        rules[f"sgr-{n:03d}"] = new_rule(rnd, n, rnd.choice(world["groups"])["GroupId"])
    elif kind == 3 and rule_ids:
        world["rule_tags"] = {**world["rule_tags"], rnd.choice(rule_ids): tags(rnd)}
    elif kind == 4:
        world["group_tags"] = {**world["group_tags"], rnd.choice(world["groups"])["GroupId"]: tags(rnd)}
    elif kind == 5:
        group_id = rnd.choice(world["groups"])["GroupId"]
        world["stale"] = {(group_id, "ingress", "sg-deleted"): "references sg-deleted, which no longer exists"}
    elif kind == 6:
        world["register"] = [] if world["register"] else parse_register(REGISTER)
    elif kind == 7:
        world["lists"] = frozenset({"pl-1"}) if "pl-gone" in world["lists"] else frozenset({"pl-1", "pl-gone"})
    elif kind == 8:
        world["today"] = world["today"] + timedelta(days=rnd.choice((1, 2, 7, 14)))
    else:  # a group given another's rules: a duplicate appears (and goes with its next edit)
        source, target = (rnd.choice(world["groups"])["GroupId"] for _ in range(2))
        for rule_id in [r for r in rule_ids if rules[r]["GroupId"] == target]:
            del rules[rule_id]
        for n, rule in enumerate([r for r in list(rules.values()) if r["GroupId"] == source]):
            copy_id = f"sgr-c{len(rules) + n:03d}"
            rules[copy_id] = {**rule, "SecurityGroupRuleId": copy_id, "GroupId": target}


def inputs(world: dict[str, Any]) -> tuple[Snapshot, Sources, Region]:
    rows = flatten_rule_rows(ACCOUNT, REGION, world["groups"], world["rules"].values())
    doc = to_csv(SNAPSHOT_HEADER, rows)
    sources = Sources(TagKeys(), world["rule_tags"], world["group_tags"], world["register"])
    return (Snapshot(rows, doc.body, group_spans(doc, doc.data_lines())), sources,
            Region(stale=world["stale"], prefix_lists=world["lists"]))


def full(world: dict[str, Any]) -> tuple[bytes, list[tuple[str, ...]]]:
    snapshot, sources, region = inputs(world)
    found = review(list(snapshot.rows), sources, region, world["today"])
    return to_csv(REVIEW_HEADER, found).body, [r for r in found if r[11] in (EXPIRED, EXPIRING)]


def run(world: dict[str, Any], previous: Previous | None) -> tuple[Previous, Any]:
    snapshot, sources, region = inputs(world)
    done = review_incrementally(snapshot, sources, region, world["today"], 14, previous)
    return Previous(done.doc.body, parse_state(done.state)), done


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), groups=st.integers(1, 12), runs=st.integers(1, 4))
def test_an_incremental_report_is_the_full_review_byte_for_byte(seed: int, groups: int, runs: int) -> None:
    # Given an estate reviewed once, then changed run after run (rules, tags, stale references, the register,
    # the prefix lists, the day: expiries crossing their warning and their date; duplicates appearing and going)
    rnd = random.Random(seed)
    world = estate(rnd, groups)
    previous, _ = run(world, None)
    for _ in range(runs):
        for _ in range(rnd.randrange(1, 4)):
            edit(rnd, world)
        # When the next run reviews incrementally
        previous, done = run(world, previous)
        # Then its report is the full review's, and so are the rows the expiry digest announces
        body, lapsed = full(world)
        assert done.doc.body == body
        assert done.doc.rows == body.count(b"\n") - 1
        assert sorted(done.lapsed) == sorted(lapsed)


def test_a_run_with_nothing_changed_reviews_no_group() -> None:
    # Given an estate reviewed on 6 Dec, its justifications expiring later than the warning days
    world = estate(random.Random(3), 20)
    world["rule_tags"] = {r: {"justification": "need", "expires": "2027-06-30"} for r in world["rules"]}
    previous, first = run(world, None)
    assert first.reviewed == first.groups == 20
    # When the next run, the same day and a week later, finds the same rules and tags
    _, same_day = run(world, previous)
    world["today"] = TODAY + timedelta(days=7)
    _, week_later = run(world, previous)
    # Then it reviews no group at all, and writes the same report
    assert same_day.reviewed == week_later.reviewed == 0
    assert week_later.doc.body == first.doc.body


def test_a_changed_rule_reviews_its_group_only() -> None:
    # Given a reviewed estate of 20 groups
    world = estate(random.Random(4), 20)
    previous, _ = run(world, None)
    # When one rule's tags change
    rule_id = sorted(world["rules"])[0]
    world["rule_tags"] = {**world["rule_tags"], rule_id: {"justification": "new reason"}}
    _, done = run(world, previous)
    # Then only its group is reviewed (and any group whose duplicates it was among)
    assert 1 <= done.reviewed <= 3 and done.groups == 20
    assert done.doc.body == full(world)[0]


def test_an_expiry_entering_the_warning_days_is_reviewed_on_that_day() -> None:
    # Given a rule whose reason expires on 30 Dec, reviewed on 6 Dec (no finding: 24 days ahead)
    world = estate(random.Random(5), 4)
    world["rule_tags"] = {r: {"justification": "need", "expires": "2026-12-30"} for r in world["rules"]}
    previous, first = run(world, None)
    assert b"expiring" not in first.doc.body
    # When the run of 16 Dec (14 days before) reuses that review
    world["today"] = date(2026, 12, 16)
    _, done = run(world, previous)
    # Then its groups are reviewed again and the rules are expiring
    assert done.reviewed == done.groups and b"expiring,expires on 2026-12-30," in done.doc.body


@pytest.mark.parametrize("change", ["register", "warning days", "tag keys", "damaged report", "other version"])
def test_a_change_of_run_wide_inputs_or_a_damaged_state_reviews_every_group(change: str) -> None:
    # Given a reviewed estate
    world = estate(random.Random(6), 10)
    previous, _ = run(world, None)
    snapshot, sources, region = inputs(world)
    warning_days = 14
    # When the register, the warning days or the tag keys change, or the previous report or state is damaged
    if change == "register":
        sources = Sources(sources.keys, sources.rule_tags, sources.group_tags,
                          [Entry("sg-0", "", "", snapshot_scope(), Justification("r", "", "", "", "register"))])
    elif change == "warning days":
        warning_days = 30
    elif change == "tag keys":
        sources = Sources(TagKeys(owner="team"), sources.rule_tags, sources.group_tags)
    elif change == "damaged report":
        previous = Previous(previous.report[:-5] + b"x\n", previous.state)
    else:
        previous = Previous(previous.report, {**previous.state, "version": 0})
    done = review_incrementally(snapshot, sources, region, TODAY, warning_days, previous)
    # Then every group is reviewed, the run says why (a damaged report as one a person should hear of), and the
    # report is the full review's
    assert done.reviewed == done.groups and done.why_full
    assert done.damaged == (change == "damaged report")
    assert done.doc.body == to_csv(REVIEW_HEADER, review(list(snapshot.rows), sources, region, TODAY,
                                                         warning_days)).body


V1 = Path(__file__).resolve().parent / "rule_review_state_v1"


def test_a_state_written_by_the_previous_version_means_a_full_review_that_says_so() -> None:
    # Given the report and state the previous version (1) wrote for an estate
    world = estate(random.Random(11), 6)
    previous = Previous((V1 / "report.csv").read_bytes(), parse_state((V1 / "state.json").read_bytes()))
    # When this version's run follows it with the same rules
    snapshot, sources, region = inputs(world)
    done = review_incrementally(snapshot, sources, region, TODAY, 14, previous)
    # Then it reviews every group, says why (not as damage: nothing is wrong with the stored objects) and writes
    # the full review
    assert done.reviewed == done.groups == 6
    assert "version 1" in done.why_full and not done.damaged
    assert done.doc.body == full(world)[0]


@pytest.mark.parametrize("damage", ["a group too few", "digests cut short", "lengths beyond the report",
                                    "a group twice", "not a list", "a set digest not text"])
def test_a_state_whose_columns_disagree_means_a_full_review(damage: str) -> None:
    # Given a reviewed estate whose state's per-group columns do not describe its report (hand edited, or
    # written by a faulty run) while its report is whole
    world = estate(random.Random(12), 8)
    previous, _ = run(world, None)
    state = dict(previous.state)
    if damage == "a group too few":
        state["groups"] = state["groups"][:-1]
    elif damage == "digests cut short":
        state["prints"] = state["prints"][:-2]
    elif damage == "lengths beyond the report":
        state["lengths"] = [n + 1 for n in state["lengths"]]
    elif damage == "a group twice":
        state["groups"] = [state["groups"][0]] * len(state["groups"])
    elif damage == "not a list":
        state["lines"] = "0"
    else:
        state["sets"] = [1] * len(state["sets"])
    # When the next run follows it
    snapshot, sources, region = inputs(world)
    done = review_incrementally(snapshot, sources, region, TODAY, 14, Previous(previous.report, state))
    # Then every group is reviewed, the run says the state is not whole, and the report is the full review's
    assert done.reviewed == done.groups and done.damaged
    assert done.doc.body == full(world)[0]


def snapshot_scope() -> Any:
    from sgwatch.rule_coverage import scope

    return scope("", "", "", "", "")


# ------------------------------------------------------------------ stored beside the report (moto S3)


@pytest.fixture
def store(evidence_account: str) -> EvidenceStore:
    return EvidenceStore(evidence_account, boto3.client("s3"))


SNAPSHOTS = [f"p/{ACCOUNT}/{REGION}/snapshots/{stamp(datetime(2026, 12, 6, hour, tzinfo=UTC))}.csv" for hour in (1, 2)]


def test_the_state_is_written_beside_the_report_and_reused_by_the_next_run(store: EvidenceStore) -> None:
    # Given a run that reviewed its snapshot
    world = estate(random.Random(7), 10)
    snapshot, sources, region = inputs(world)
    first = record_review(store, "p/", ACCOUNT, REGION, SNAPSHOTS[0], snapshot.rows, sources, region)
    assert store.get(state_key("p/", ACCOUNT, REGION, SNAPSHOTS[0])).key.startswith(
        series_prefix("p/", ACCOUNT, REGION, "rule-review-state"))
    # When the next run follows its snapshot with the same rules
    second = record_review(store, "p/", ACCOUNT, REGION, SNAPSHOTS[1], snapshot.rows, sources, region,
                           previous_key=SNAPSHOTS[0])
    # Then it reviews no group and writes the same report
    assert (first.reviewed, second.reviewed, second.unreadable) == (10, 0, "")
    assert store.get(second.key).body == store.get(first.key).body


@pytest.mark.parametrize(("damaged", "damage"), [("state", b"{trunc"), ("state", b'{"version":1}'),
                                                 ("report", b"AccountId,Region\n")])
def test_an_unreadable_state_means_a_full_review_that_says_so(store: EvidenceStore, damaged: str,
                                                              damage: bytes) -> None:
    # Given a run whose state or report object is not what it wrote (cut short, or another one altogether)
    world = estate(random.Random(8), 10)
    snapshot, sources, region = inputs(world)
    first = record_review(store, "p/", ACCOUNT, REGION, SNAPSHOTS[0], snapshot.rows, sources, region)
    key = state_key("p/", ACCOUNT, REGION, SNAPSHOTS[0]) if damaged == "state" else first.key
    metadata = store.get(key).metadata
    store.s3.put_object(Bucket=store.bucket, Key=key, Body=damage, Metadata=metadata)
    # When the next run follows it
    second = record_review(store, "p/", ACCOUNT, REGION, SNAPSHOTS[1], snapshot.rows, sources, region,
                           previous_key=SNAPSHOTS[0])
    # Then it reviews every group, writes the full review and says the state was unreadable
    assert second.reviewed == 10 and "unreadable" in second.unreadable
    assert store.get(second.key).body == full(world)[0]


def test_a_state_that_cannot_be_written_fails_the_pair_after_its_report(store: EvidenceStore,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Given S3 refusing the state's write
    world = estate(random.Random(9), 5)
    snapshot, sources, region = inputs(world)
    put_new = store.put_new

    def refusing(key: str, *args: Any, **kwargs: Any) -> bool:
        if "/rule-review-state/" in key:
            raise RuntimeError("SlowDown")
        return put_new(key, *args, **kwargs)

    monkeypatch.setattr(store, "put_new", refusing)
    # When the run writes its rule review, then it fails, naming the state (its report is written)
    with pytest.raises(RuntimeError, match="rule-review-state/.*SlowDown"):
        record_review(store, "p/", ACCOUNT, REGION, SNAPSHOTS[0], snapshot.rows, sources, region)
    assert store.get(SNAPSHOTS[0].replace("/snapshots/", "/rule-review/")).body == full(world)[0]
