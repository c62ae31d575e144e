"""The inventory's drift report (see :mod:`sgwatch.drift`): ``{prefix}{account}/{region}/drift/<stamp>.csv``,
write-once, with the stamp of the snapshot it compares, and the drift it holds that the previous report did not.

Written only when ``IAC_STATE_LOCATIONS`` names states to read or ``IAC_CLOUDFORMATION_DRIFT`` is set (the stacks of
each pair are read then, :mod:`sgwatch.cfn_drift`; one that could not be checked fails the pair): the declared rules are
read once per run (:class:`sgwatch.iac_state.DeclaredOnce`; with the fan-out, by the scheduled invocation that queues
the pairs, which read what it extracted) and a state that cannot be read fails every pair of the run (no report then,
never an empty one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from . import log, settings
from .cfn_drift import STACK_TAG, Stacks
from .csvio import CsvFormatError, from_csv, to_csv
from .drift import DRIFT_HEADER, DriftRow, drift, new_drift
from .evidence import DRIFT, EvidenceStore, Layout, put_beside_snapshot, series_prefix, stamp
from .iac_state import Declared, Location, from_json, locations_from_env, to_json
from .settings import Environment

# Tags CloudFormation puts on what a stack creates: unless its stacks are read, a group carrying them is not
# reported as declared in no source.
CLOUDFORMATION_TAGS = ("aws:cloudformation:",)


@dataclass(frozen=True)
class Settings:
    """``IAC_STATE_LOCATIONS`` (the states to read), ``IAC_CLOUDFORMATION_DRIFT`` (``true``: the stacks of each
    account and region too, :mod:`sgwatch.cfn_drift`; neither: no drift report) and ``IAC_MANAGED_TAG_KEYS`` (the
    tag keys of a group some code manages, comma-separated)."""

    locations: tuple[Location, ...] = ()
    iac_tag_keys: tuple[str, ...] = ()
    cloudformation: bool = False

    @classmethod
    def from_env(cls, env: Environment) -> Settings:
        return cls(locations_from_env(env), settings.items(env, "IAC_MANAGED_TAG_KEYS"),
                   settings.flag(env, "IAC_CLOUDFORMATION_DRIFT"))

    @property
    def enabled(self) -> bool:
        return bool(self.locations) or self.cloudformation

    @property
    def group_tag_keys(self) -> tuple[str, ...]:
        if self.cloudformation:
            return self.iac_tag_keys
        return tuple(k for k in self.iac_tag_keys if not k.startswith(CLOUDFORMATION_TAGS))


@dataclass(frozen=True)
class DriftResult:
    key: str
    rows: int
    new: list[DriftRow]  # the rows the previous report did not hold


def previous_report(store: EvidenceStore, prefix: str, account_id: str, region: str) -> list[tuple[str, ...]] | None:
    """The rows of the newest drift report of the pair; None when there is none, or when it is not a whole
    report of ours (logged: everything it would have held is new again)."""
    key = store.latest_key(series_prefix(prefix, account_id, region, DRIFT))
    if key is None:
        return None
    found = store.get(key)  # a read error fails the pair: the next run compares with the same report
    rows = found.metadata.get("rows", "")
    try:
        return from_csv(found.body, DRIFT_HEADER, int(rows) if rows.isdigit() else None, found.metadata.get("sha256"))
    except CsvFormatError as exc:
        log.error("previous_drift_unusable", account_id=account_id, region=region, key=key, error=str(exc))
        return None


def record_drift(
    store: EvidenceStore,
    prefix: str,
    account_id: str,
    region: str,
    snapshot_key: str,
    rows: Sequence[Sequence[str]],
    declared: Declared,
    group_tags: Mapping[str, Mapping[str, str]],
    config: Settings,
    stacks: Stacks | None = None,
) -> DriftResult:
    """Write the drift report of the snapshot ``snapshot_key`` (the same stamp), with what the pair's stacks
    declare when they were read (``stacks``)."""
    if stacks is not None:
        declared = Declared(declared.groups + stacks.declared.groups, declared.rules + stacks.declared.rules,
                            declared.sources + stacks.declared.sources)
        # A group a stack that was read created is that stack's, whatever its resources say of it.
        group_tags = {g: t for g, t in group_tags.items() if t.get(STACK_TAG) not in stacks.stack_ids}
    found = drift(rows, declared, account_id, region, group_tags, config.group_tag_keys)
    if stacks is not None and stacks.deleted:
        found = sorted([*found, *stacks.deleted], key=lambda row: (row.group_id, row.drift, row.direction,
                                                                    row.rule_id, row))
    previous = previous_report(store, prefix, account_id, region)
    doc = to_csv(DRIFT_HEADER, found)
    key = put_beside_snapshot(store, prefix, account_id, region, DRIFT, snapshot_key, doc, "drift report")
    return DriftResult(key, doc.rows, new_drift(found, previous))


# --------------------------------------------------------------------------- the fan-out


def publish_declared(store: EvidenceStore, prefix: str, declared: Declared, now: datetime) -> str:
    """Leave what the states declare (their security-group resources only) for the queued pairs of a fanned-out
    run: ``{prefix}iac-declared/<stamp>.json``, write-once. The scheduled invocation writes it before it queues
    any pair, so each state is read once per run however many pairs the run has."""
    key = f"{Layout(prefix).iac_declared()}{stamp(now)}.json"
    if not store.put_new(key, to_json(declared), "application/json",
                         {"groups": str(len(declared.groups)), "rules": str(len(declared.rules))}):
        raise RuntimeError(f"declared rules {key} already exist; refusing to overwrite evidence")
    log.info("iac_declared_written", key=key, sources=len(declared.sources), groups=len(declared.groups),
             rules=len(declared.rules))
    return key


def read_declared(store: EvidenceStore, prefix: str) -> Declared:
    """What the newest fanned-out run's states declare, as its scheduled invocation left it (a queued pair of an
    earlier run reads the newer one: never older than its own)."""
    key = store.latest_key(Layout(prefix).iac_declared())
    if key is None:
        raise RuntimeError(f"no declared rules under {Layout(prefix).iac_declared()}: the scheduled run that queues "
                           "the pairs writes them first")
    return from_json(store.get(key).body)
