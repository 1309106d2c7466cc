"""The framework floor: our refresh's Dagster shape with bodies that do no work.

Why: at small sizes most of a refresh is fixed cost (imports, the instance, runs, events,
partitions, checks), which no ratio to a data floor can capture. This measures what Dagster alone
charges for a graph of exactly our shape, on the same storage, walked the same way: every asset of
``pipelines.orchestration.definitions`` is replaced by a twin with the same keys, dependencies,
partitions, backfill policy, tags and check specs whose body only reports its assets materialized
and its checks passed, and the two runs of a refresh (ingest; measures over a partition range and
publish) go through the CLI's own executor (``pipelines.cli.refresh._execute``).

``python -m benchmarks.framework_floor --from FY2011-Q1 --to FY2026-Q4`` runs it on the Dagster
instance of ``DAGSTER_HOME`` (Dagster's SQLite storage, as ``scr-pipeline refresh`` uses).
``write_tiny_extract`` writes the matching tiny refresh's input: one approved disruption SCR per
fiscal quarter of that range.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import time
import uuid
from pathlib import Path

import dagster as dg

from schemas.fiscal import parse_quarter_key, quarter_bounds, quarter_key

# With ``events=True`` the hollow bodies also emit the events ours add for people, not data: one
# INFO log line per step, and the per-quarter observations the UI plots
# (``assets/measures/quarterly.py``, ``_partition_observations``: the PLOTTED numbers, one
# observation per partition of these assets). The difference between the two floors is what those
# events cost on Dagster's storage.
OBSERVED = ("quarterly_measures", "category_measures")


def _hollow_asset(assets_def: dg.AssetsDefinition, events: bool = False) -> dg.AssetsDefinition:
    """A twin of ``assets_def``: same specs, partitions and checks; the body only reports."""
    from assets.measures.quarterly import PLOTTED

    specs = [spec.replace_attributes(partitions_def=None) for spec in assets_def.specs]
    check_specs = list(assets_def.check_specs)
    observed = [s.key for s in specs if events and s.key.to_user_string() in OBSERVED]

    @dg.multi_asset(
        name=f"hollow_{assets_def.node_def.name}",
        specs=specs,
        check_specs=check_specs,
        partitions_def=assets_def.partitions_def,
        backfill_policy=assets_def.backfill_policy,
    )
    def _body(context):  # no annotation: this module has postponed annotations
        if events:
            context.log.info(f"{assets_def.node_def.name}: nothing done (framework floor)")
        for key in observed:
            for partition in context.partition_keys:
                context.log_event(
                    dg.AssetObservation(
                        asset_key=key,
                        partition=partition,
                        metadata={k: dg.MetadataValue.int(0) for k in PLOTTED},
                    )
                )
        for spec in specs:
            yield dg.MaterializeResult(asset_key=spec.key, metadata={"rows": 0})
        for check in check_specs:
            yield dg.AssetCheckResult(asset_key=check.asset_key, check_name=check.name, passed=True)

    return _body


def _hollow_check(spec: dg.AssetCheckSpec) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=spec.asset_key, name=spec.name, blocking=spec.blocking)
    def _check() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    return _check


def hollow_definitions(defs: dg.Definitions, events: bool = False) -> dg.Definitions:
    """Definitions of our graph's shape (assets, partitions, checks, the refresh job's selection)
    in which no body does any work (``events``: but logs and observes as ours do, see OBSERVED)."""
    from pipelines.orchestration.jobs import STAGE_JOBS, refresh_job

    assets = [
        _hollow_asset(a, events) if isinstance(a, dg.AssetsDefinition) else a
        for a in defs.assets or []
    ]
    checks = [_hollow_check(s) for c in defs.asset_checks or [] for s in c.check_specs]
    return dg.Definitions(assets=assets, asset_checks=checks, jobs=[refresh_job, *STAGE_JOBS])


def run_floor(first: str, last: str, events: bool = False) -> list[str]:
    """The two runs of a refresh over quarters ``first``..``last`` on the CLI's instance."""
    from pipelines.cli.refresh import _execute
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.instance import get_instance
    from pipelines.orchestration.refresh_plan import INGEST, PUBLISH, REFRESH_TAG, RunPlan

    hollow = hollow_definitions(defs, events)
    tags = {REFRESH_TAG: uuid.uuid4().hex[:12]}
    with get_instance() as instance:
        ingest = _execute(hollow, instance, RunPlan(INGEST, tags=tags), debug=False)
        publish = _execute(hollow, instance, RunPlan(PUBLISH, (first, last), tags), debug=False)
        return [ingest.run_id, publish.run_id]


def quarter_keys_between(first: str, last: str) -> list[str]:
    """Every fiscal quarter key from ``first`` to ``last``, inclusive."""
    fy, q = parse_quarter_key(first)
    end = parse_quarter_key(last)
    keys = []
    while (fy, q) <= end:
        keys.append(quarter_key(fy, q))
        fy, q = (fy + 1, 1) if q == 4 else (fy, q + 1)
    return keys


def write_tiny_extract(folder: Path, first: str, last: str) -> Path:
    """One approved DISRUPTION SCR per fiscal quarter (approved mid-quarter, TCO by the
    definition): the smallest input that makes a refresh measure every quarter of the range."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scr_extract_tiny.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(
            [
                "scr_id", "case_number", "scr_type", "criminal_category", "subcategory",
                "field_office", "status", "created_at", "submitted_date", "approved_date",
                "tco_involvement", "subject_count", "countries", "last_modified_at",
            ]
        )  # fmt: skip
        for i, key in enumerate(quarter_keys_between(first, last)):
            start, _ = quarter_bounds(*parse_quarter_key(key))
            day = start + dt.timedelta(days=40)
            created = dt.datetime.combine(day - dt.timedelta(days=10), dt.time(9))
            out.writerow(
                [
                    f"SCR-T{i:05d}", f"CASE-T{i:05d}", "DISRUPTION", "Transnational Gangs", "",
                    "SAC Houston", "APPROVED", created.isoformat(), day - dt.timedelta(days=5),
                    day, "Y" if day >= dt.date(2023, 7, 18) else "", 3, "US;MX",
                    dt.datetime.combine(day, dt.time(12)).isoformat(),
                ]
            )  # fmt: skip
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="first", default="FY2011-Q1", help="first quarter key")
    parser.add_argument("--to", dest="last", required=True, help="last quarter key")
    parser.add_argument(
        "--with-events",
        action="store_true",
        help="also one INFO log line per step and our per-quarter observations (OBSERVED)",
    )
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    runs = run_floor(args.first, args.last, args.with_events)
    print(f"framework floor: {len(runs)} runs in {time.monotonic() - t0:.2f}s")


if __name__ == "__main__":
    main()
