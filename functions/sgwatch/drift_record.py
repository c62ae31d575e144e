"""The inventory's drift report (see :mod:`sgwatch.drift`): ``{prefix}{account}/{region}/drift/<stamp>.csv``,
write-once, with the stamp of the snapshot it compares, and the drift it holds that the previous report did not.

Written only when ``IAC_STATE_LOCATIONS`` names states to read: the declared rules are read once per run
(:class:`sgwatch.iac_state.StatesOnce`) and a state that cannot be read fails every pair of the run (no report
then, never an empty one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import log, settings
from .csvio import CsvFormatError, from_csv, to_csv
from .drift import DRIFT_HEADER, DriftRow, drift, new_drift
from .evidence import DRIFT, EvidenceStore, put_beside_snapshot, series_prefix
from .iac_state import Declared, Location, locations_from_env
from .settings import Environment

# Tags CloudFormation puts on what a stack creates: its stacks are not read yet, so a group carrying them is
# not reported as declared in no source.
UNREAD_SOURCE_TAGS = ("aws:cloudformation:",)


@dataclass(frozen=True)
class Settings:
    """``IAC_STATE_LOCATIONS`` (the states to read; none: no drift report) and ``IAC_MANAGED_TAG_KEYS`` (the
    tag keys of a group some code manages, comma-separated)."""

    locations: tuple[Location, ...] = ()
    iac_tag_keys: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Environment) -> Settings:
        return cls(locations_from_env(env), settings.items(env, "IAC_MANAGED_TAG_KEYS"))

    @property
    def group_tag_keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.iac_tag_keys if not k.startswith(UNREAD_SOURCE_TAGS))


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
) -> DriftResult:
    """Write the drift report of the snapshot ``snapshot_key`` (the same stamp)."""
    found = drift(rows, declared, account_id, region, group_tags, config.group_tag_keys)
    previous = previous_report(store, prefix, account_id, region)
    doc = to_csv(DRIFT_HEADER, found)
    key = put_beside_snapshot(store, prefix, account_id, region, DRIFT, snapshot_key, doc, "drift report")
    return DriftResult(key, doc.rows, new_drift(found, previous))
