"""Where the time goes and how results are shown: per-stage times read back from the Dagster
run history of a benchmark refresh, and the markdown tables written into benchmarks/README.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
BEGIN, END = "<!-- bench-results:begin -->", "<!-- bench-results:end -->"

# step key (asset) -> stage of the report; anything else is "other".
STAGE_OF = {
    "landing_extracts": "ingest",
    "scr_findings": "validation",
    "scr_current": "determine",
    "changed_quarters": "measures",
    "quarterly_measures": "measures",
    "category_measures": "measures",
    "annual_measures": "measures",
    "ingest_reconciliation": "reconcile",
    "published_outputs": "export",
}
LABELS = {
    "pipeline_full": "(a) pipeline, full refresh",
    "pipeline_nothing_new": "(a') pipeline, refresh with nothing new",
    "pipeline_one_quarter": "(b) pipeline, one-quarter refresh",
    "floor": "(c) floor: bare DuckDB, defaults",
    "floor_capped": "(c') floor: bare DuckDB, capped like the pipeline",
    "baseline_pandas": "(d) baseline: pandas + pandera",
    "pipeline_tiny": "(e) pipeline, full refresh of a tiny extract (one SCR per quarter)",
    "framework_floor": "(f) framework floor: our Dagster graph, bodies that do nothing",
    "framework_floor_events": "(f') framework floor + our log lines and per-quarter observations",
    "floor_tiny": "(g) floor on the tiny extract",
}
# Issue 31's targets: fixed cost / framework floor, and marginal cost / the floor's marginal cost.
FIXED_TARGET, MARGINAL_TARGET = 1.3, 1.5


def cost_split(runs: dict, key: str = "wall_s") -> dict[str, float] | None:
    """Fixed cost (the tiny refresh) against the framework floor, and marginal cost (full refresh
    minus the tiny one) against the DuckDB floor's marginal cost (floor minus floor on tiny)."""
    need = ("pipeline_full", "pipeline_tiny", "framework_floor", "floor", "floor_tiny")
    if not all(runs.get(k, {}).get(key) for k in need):
        return None
    pipeline_marginal = runs["pipeline_full"][key] - runs["pipeline_tiny"][key]
    floor_marginal = runs["floor"][key] - runs["floor_tiny"][key]
    return {
        "fixed": runs["pipeline_tiny"][key] / runs["framework_floor"][key],
        "pipeline_marginal": pipeline_marginal,
        "floor_marginal": floor_marginal,
        "marginal": pipeline_marginal / floor_marginal if floor_marginal > 0 else float("nan"),
    }


def full_refresh_target(rows: int) -> float:
    """Issue 25's bound on full refresh / floor: 4x at 100k rows, 2.5x at 1M, 1.5x at 10M."""
    return 4.0 if rows < 1_000_000 else 2.5 if rows < 10_000_000 else 1.5


def stage_times(dagster_home: Path, measured: dict, skip: set[str] = frozenset()) -> dict:
    """Seconds and peak RSS (MB) per stage over the runs in ``dagster_home`` (except ``skip``),
    and Dagster's own share: run time not spent inside any step. ``measured`` holds the RSS
    timeline of the process (consumed here)."""
    import dagster as dg

    timeline = measured.pop("_timeline", [])
    stages: dict[str, float] = {}
    peaks: dict[str, float] = {}
    run_ids, in_runs = [], 0.0
    # the instance's storage reads its folder from DAGSTER_HOME (dagster.template.yaml)
    saved = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        inst = dg.DagsterInstance.from_config(str(dagster_home))
    finally:
        if saved is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = saved
    with inst:
        for run in inst.get_runs():
            if run.run_id in skip:
                continue
            run_ids.append(run.run_id)
            stats = inst.get_run_stats(run.run_id)
            in_runs += (stats.end_time or 0) - (stats.start_time or 0)
            for step in inst.get_run_step_stats(run.run_id):
                stage = STAGE_OF.get(step.step_key.split("[")[0], "other")
                start, end = step.start_time or 0, step.end_time or 0
                stages[stage] = round(stages.get(stage, 0.0) + end - start, 2)
                rss = max((r for t, r in timeline if start <= t <= end), default=0)
                peaks[stage] = max(peaks.get(stage, 0.0), round(rss / 2**20))
    stages["dagster_in_run_overhead"] = round(in_runs - sum(stages.values()), 2)
    return {
        "stages_s": stages
        | {
            "process_outside_runs": round(measured["wall_s"] - in_runs, 2),
            "dagster_runs": len(run_ids),
            "run_ids": run_ids,
        },
        "stage_peak_rss_mb": peaks,
    }


def _ratio(a: dict | None, b: dict | None, key: str) -> str:
    if not a or not b or not b.get(key):
        return "n/a"
    return f"{a[key] / b[key]:.2f}x"


def render_table(result: dict) -> str:
    rows, runs = result["rows"], result["runs"]
    lines = [
        f"**{rows:,} SCR rows** (correction: {result['correction_rows']:,} rows; pipeline "
        f"memory_limit {result['memory_limit']}, {result['threads']} threads; {result['cpus']} "
        f"CPUs; load average {result['load_before']} before, {result['load_after']} after)",
        "",
        "| run | wall s | rows/s | peak RSS MB | CPU s |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, label in LABELS.items():
        r = runs.get(key)
        if r is None:
            why = (
                "not run (> BENCH_BASELINE_MAX_ROWS)"
                if key == "baseline_pandas"
                else "not measured"
            )
            lines.append(f"| {label} | {why} | | | |")
            continue
        n = {"pipeline_one_quarter": result["correction_rows"], "pipeline_nothing_new": 0}.get(
            key, rows
        )
        rate = f"{n / r['wall_s']:,.0f}" if n else ""
        lines.append(
            f"| {label} | {r['wall_s']:.1f} | {rate} "
            f"| {r['peak_rss_mb']:,.0f} "
            f"| {r.get('cpu_s', float('nan')):.1f} |"
        )
    full, base = runs.get("pipeline_full"), runs.get("baseline_pandas")
    lines += [""]
    pairs = result.get("pairs")
    if pairs:
        r, floor = pairs["median_ratio_of_pairs"], runs["floor"]
        nothing = runs["pipeline_nothing_new"]
        full_target = full_refresh_target(rows)
        lines += [
            f"- {pairs['count']} alternating pairs (pipeline, floor), medians; ratios are the "
            "median of the per-pair ratios",
            f"- targets (issue 25): full refresh / floor {r['pipeline_full/floor wall']:.2f}x wall, "
            f"{r['pipeline_full/floor cpu']:.2f}x CPU (target <= {full_target}x); one-quarter "
            f"correction / floor {r['pipeline_one_quarter/floor wall']:.2f}x wall, "
            f"{r['pipeline_one_quarter/floor cpu']:.2f}x CPU (target <= 3x at 100k); nothing new "
            f"{nothing['wall_s']:.2f} s wall, {nothing['cpu_s']:.2f} CPU s (target <= 0.5x); "
            f"floor {floor['wall_s']:.2f} s wall, {floor['cpu_s']:.2f} CPU s",
        ]
        stages = {
            k: v
            for k, v in (full or {}).get("stages_s", {}).items()
            if isinstance(v, int | float) and k != "dagster_runs"
        }
        if stages and floor.get("wall_s"):
            lines.append(
                "- pipeline_full stage / floor wall: "
                + ", ".join(f"{k} {v / floor['wall_s']:.2f}x" for k, v in stages.items())
            )
        if result.get("elsewhere"):
            lines.append("- also running at the end: " + "; ".join(result["elsewhere"]))
    lines += [
        f"- pipeline / floor (defaults): {_ratio(full, runs.get('floor'), 'wall_s')} wall, "
        f"{_ratio(full, runs.get('floor'), 'cpu_s')} CPU; "
        f"pipeline / floor (capped): {_ratio(full, runs.get('floor_capped'), 'wall_s')} wall",
        f"- one-quarter / full refresh: {_ratio(runs.get('pipeline_one_quarter'), full, 'wall_s')}",
        f"- baseline / pipeline: {_ratio(base, full, 'wall_s')} wall, "
        f"{_ratio(base, full, 'peak_rss_mb')} peak RSS",
    ]
    for key in ("wall_s", "cpu_s"):
        split = cost_split(runs, key)
        if split:
            lines.append(
                f"- fixed cost ({key.removesuffix('_s')}): tiny refresh / framework floor "
                f"{split['fixed']:.2f}x (target <= {FIXED_TARGET}x); marginal cost: (full - tiny) "
                f"{split['pipeline_marginal']:.2f} s / floor (full - tiny) "
                f"{split['floor_marginal']:.2f} s = {split['marginal']:.2f}x "
                f"(target <= {MARGINAL_TARGET}x)"
            )
    tiny, events = runs.get("pipeline_tiny"), runs.get("framework_floor_events")
    if tiny and events and runs.get("framework_floor"):
        lines.append(
            f"- fixed cost against the framework floor with our events (f'): "
            f"{_ratio(tiny, events, 'wall_s')} wall, {_ratio(tiny, events, 'cpu_s')} CPU; the "
            f"events alone (f' - f): {events['wall_s'] - runs['framework_floor']['wall_s']:.2f} s "
            f"wall, {events['cpu_s'] - runs['framework_floor']['cpu_s']:.2f} CPU s"
        )
    arch = (full or {}).get("archive")
    if arch:
        lines.append(
            f"- landing archive: {arch['archive_mb']:,.1f} MB for {arch['input_mb']:,.1f} MB of "
            f"extracts; hashing and copying them into an archive takes {arch['hash_and_copy_s']}s"
        )
    for key in ("pipeline_full", "pipeline_nothing_new", "pipeline_one_quarter"):
        st = runs.get(key, {}).get("stages_s")
        if st:
            parts = {k: v for k, v in st.items() if k not in ("run_ids", "dagster_runs")}
            lines.append(f"- {key} seconds: " + ", ".join(f"{k} {v}" for k, v in parts.items()))
            peaks = runs[key].get("stage_peak_rss_mb", {})
            if peaks:
                lines.append(
                    f"- {key} peak RSS MB: " + ", ".join(f"{k} {v:,.0f}" for k, v in peaks.items())
                )
    return "\n".join(lines)


def update_readme(readme: Path) -> None:
    """Replace the results block of the README with one table per size in results/."""
    results = []
    for path in sorted(RESULTS.glob("[0-9]*.json"), key=lambda p: int(p.stem)):
        results.append(render_table(json.loads(path.read_text())))
    block = "\n\n".join([BEGIN, *results, END])
    text = readme.read_text() if readme.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    readme.write_text(head + block + tail)
