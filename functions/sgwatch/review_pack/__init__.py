"""The PCI DSS 1.2.7 review pack: what changed in a period and through which channel (1.2.2), what the
internet reaches and what is risky now, what is missing.

The review itself is pure: it decides which objects to read, builds the review from their bytes
and renders it. ``pack`` reads the evidence bucket and writes a finished pack, ``parts`` runs the
fanned-out dispatch, parts and merge over the work queue. Missing kinds of evidence are not errors:
they become "absent" gaps in the report.

=================  ===========================================================================
Module             What it does
=================  ===========================================================================
``period``         the review period: whole UTC days, the default six months
``selection``      which evidence keys to read, from one listing (:func:`select`)
``model``          the data model, and how each kind of evidence reads back into it
``build``          the build steps, each returning (items, gaps), :func:`build` and :func:`assemble`
``rows``           the review's tables in compressed temporary files, read back merged in order
``partial``        one account/region's review as a fanned-out part hands it to the merge
``attribution``    which change events explain each diff change (the matching rule); the gaps
``risky``          the current rules rated MEDIUM or higher, as their alerts rate them
``rule_findings``  the rule review section (PCI DSS 1.2.5, 1.2.7): the newest rule-review reports
``tables``         the CSV files (:func:`render_csvs`)
``records``        the manifest, the review-record template and sign-off records
``charts``         the geometry of the report's two SVG charts
``report``         ``report.html`` from ``templates/report.html`` (Jinja2, autoescaped)
``notice``         what the handler returns and announces once a pack is written
``pack``           reading the evidence, and writing a finished pack (a single run and a merge)
``parts``          the fan-out: dispatch, one part per account/region, the merge, the run's deadline
``config``         the function's :class:`Settings`, from its environment
=================  ===========================================================================
"""

from .build import ScopeReview, assemble, build
from .config import Settings
from .model import (
    NOT_RECORDED,
    UNATTRIBUTED,
    Change,
    ChangeEvent,
    Digest,
    EventChange,
    Gap,
    PastReview,
    Review,
    Risky,
    Scope,
    UnusedGroup,
    digest_snapshot,
)
from .period import Period, default_period, parse_period
from .records import DECISIONS, SignOff, manifest, review_record_template, signoff_record, write_manifest
from .report import COVERAGE_CHART_LIMIT, HTML_ROW_LIMIT, html_chunks, render_html
from .risky import assess
from .selection import KINDS, Selection, classify, is_pack_record, select
from .tables import CHANGES_HEADER, OUT_OF_BAND_HEADER, RISKY_HEADER, UNUSED_HEADER, render_csvs, tables

__all__ = [
    "CHANGES_HEADER",
    "COVERAGE_CHART_LIMIT",
    "DECISIONS",
    "HTML_ROW_LIMIT",
    "KINDS",
    "NOT_RECORDED",
    "OUT_OF_BAND_HEADER",
    "RISKY_HEADER",
    "UNATTRIBUTED",
    "UNUSED_HEADER",
    "Change",
    "ChangeEvent",
    "Digest",
    "EventChange",
    "Gap",
    "PastReview",
    "Period",
    "Review",
    "Risky",
    "Scope",
    "ScopeReview",
    "Selection",
    "Settings",
    "SignOff",
    "UnusedGroup",
    "assemble",
    "assess",
    "build",
    "classify",
    "default_period",
    "is_pack_record",
    "digest_snapshot",
    "html_chunks",
    "manifest",
    "parse_period",
    "render_csvs",
    "render_html",
    "review_record_template",
    "select",
    "signoff_record",
    "tables",
    "write_manifest",
]
