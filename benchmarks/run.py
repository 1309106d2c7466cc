"""``make bench``: the pipeline against a bare-DuckDB floor and a pandas + pandera baseline.

Every run is a separate subprocess on the same generated files, measured for wall time and
peak RSS of its whole process tree (psutil, polled every 20 ms). Results go to
``benchmarks/results/latest.json`` (and ``results/<rows>.json``) and a markdown table in
``benchmarks/README.md``. Sizes: ``BENCH_ROWS`` (default 1,000,000); the baseline runs only up
to ``BENCH_BASELINE_MAX_ROWS`` (default 3,000,000), beyond that it does not fit next to other
work on a 24 GB machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

from benchmarks.framework_floor import write_tiny_extract
from benchmarks.generate import write_correction, write_extracts
from benchmarks.report import render_table, stage_times, update_readme

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PY = sys.executable


def measure(cmd: list[str], env: dict | None = None, log: Path | None = None) -> dict:
    """Run ``cmd``; wall seconds, peak RSS (MB) summed over the process and its children, and
    CPU seconds (user + system, all threads), which stay comparable when other work shares the
    cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    ps, peak, timeline = psutil.Process(proc.pid), 0, []
    while proc.poll() is None:
        try:
            rss = sum(p.memory_info().rss for p in [ps, *ps.children(recursive=True)])
            peak = max(peak, rss)
            timeline.append((time.time(), rss))
        except psutil.Error:
            pass
        time.sleep(0.02)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if log:
        out.close()
    if proc.returncode != 0:
        tail = log.read_text()[-2000:] if log else ""
        raise SystemExit(f"benchmark step failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")
    out = {"wall_s": round(wall, 2), "peak_rss_mb": round(peak / 2**20, 1), "cpu_s": round(cpu, 2)}
    return out | {"_timeline": timeline}


def other_work() -> list[str]:
    """What else was using the CPU when the benchmark ended (processes above 20% of a core)."""
    busy = []
    for p in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            pct = p.cpu_percent(interval=None)
        except psutil.Error:
            continue
        busy.append((p, pct))
    time.sleep(1.0)
    out = []
    for p, _ in busy:
        try:
            pct = p.cpu_percent(interval=None)
            if pct >= 20 and p.pid != os.getpid():
                cmd = " ".join(p.info["cmdline"] or [p.info["name"] or "?"])
                out.append(f"{pct:.0f}% {cmd[:100]}")
        except psutil.Error:
            continue
    return sorted(out, reverse=True)[:6]


def prepare(work: Path, rows: int, seed: int) -> tuple[Path, Path]:
    """Generated files, reused when the same size and seed were generated before."""
    full, corr = work / f"extracts_{rows}", work / f"correction_{rows}"
    stamp = full / ".generated.json"
    if not (stamp.exists() and json.loads(stamp.read_text()).get("seed") == seed):
        shutil.rmtree(full, ignore_errors=True)
        shutil.rmtree(corr, ignore_errors=True)
        t0 = time.monotonic()
        summary = write_extracts(full, rows, seed)
        summary["correction"] = write_correction(corr, rows, seed)
        summary.pop("bad_rows")
        summary["generate_s"] = round(time.monotonic() - t0, 1)
        stamp.write_text(json.dumps(summary))
        print(f"generated {rows:,} rows in {summary['generate_s']}s: {summary}")
    return full, corr


def pipeline_env(run_dir: Path, landing: Path) -> dict:
    env = dict(os.environ)
    env.update(
        SCR_LANDING_DIR=str(landing),
        SCR_WAREHOUSE=str(run_dir / "warehouse.duckdb"),
        SCR_OUTPUT_DIR=str(run_dir / "output"),
        DAGSTER_HOME=str(run_dir / "dagster_home"),
        SCR_ARCHIVE_DIR=str(run_dir / "archive"),
        SCR_SETTLE_SECONDS="0",
        PYTHONWARNINGS="ignore",
    )
    return env


def archive_cost(extracts: Path, archive: Path, work: Path) -> dict:
    """What the landing archive costs: its size beside the input's, and the time to hash and
    copy the extracts into a fresh archive (the work ingest adds per new file)."""
    from assets.landing.archive import archive_copy
    from assets.landing.scan import sha256_of

    files = sorted(extracts.glob("scr_extract_*.csv"))
    scratch = work / "archive_timing"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    t0 = time.monotonic()
    for f in files:
        archive_copy(f, scratch, sha256_of(f))
    seconds = time.monotonic() - t0
    shutil.rmtree(scratch, ignore_errors=True)
    mb = 1024 * 1024
    return {
        "input_mb": round(sum(f.stat().st_size for f in files) / mb, 1),
        "archive_mb": round(
            sum(p.stat().st_size for p in archive.rglob("*") if p.is_file()) / mb, 1
        ),
        "hash_and_copy_s": round(seconds, 2),
    }


def run_pipeline(work: Path, full: Path, corr: Path, tag: str = "") -> dict[str, dict]:
    """(a) full refresh on a fresh warehouse, (a') the same refresh again with nothing new,
    (b) one-quarter refresh after adding a correction. ``tag`` names the run directory."""
    run_dir = work / f"pipeline{tag}"
    shutil.rmtree(run_dir, ignore_errors=True)
    landing = run_dir / "landing"
    landing.mkdir(parents=True)
    for f in full.glob("scr_extract_*.csv"):
        os.link(f, landing / f.name)  # same files, no copy
    env = pipeline_env(run_dir, landing)
    cli = [str(Path(PY).with_name("scr-pipeline")), "refresh"]
    out = {"pipeline_full": measure(cli, env, work / "pipeline_full.log")}
    out["pipeline_full"] |= stage_times(Path(env["DAGSTER_HOME"]), out["pipeline_full"])
    out["pipeline_full"]["archive"] = archive_cost(full, run_dir / "archive", work)
    seen = set(out["pipeline_full"]["stages_s"]["run_ids"])
    out["pipeline_nothing_new"] = measure(cli, env, work / "pipeline_nothing_new.log")
    if "nothing new" not in (work / "pipeline_nothing_new.log").read_text():
        raise SystemExit("the second refresh on the same files was not 'nothing new'")
    out["pipeline_nothing_new"] |= stage_times(
        Path(env["DAGSTER_HOME"]), out["pipeline_nothing_new"], skip=seen
    )
    seen |= set(out["pipeline_nothing_new"]["stages_s"]["run_ids"])
    for f in corr.glob("scr_extract_*.csv"):
        os.link(f, landing / f.name)
    out["pipeline_one_quarter"] = measure(cli, env, work / "pipeline_one_quarter.log")
    out["pipeline_one_quarter"] |= stage_times(
        Path(env["DAGSTER_HOME"]), out["pipeline_one_quarter"], skip=seen
    )
    return out


def _median_sample(samples: list[dict]) -> dict:
    """The sample with the median wall time, with every sample's wall/CPU/RSS beside it."""
    ordered = sorted(samples, key=lambda r: r["wall_s"])
    pick = dict(ordered[(len(ordered) - 1) // 2])
    pick["samples"] = [{k: r[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")} for r in samples]
    for key in ("wall_s", "cpu_s", "peak_rss_mb"):
        pick[key] = round(statistics.median(r[key] for r in samples), 2)
    return pick


def run_pairs(work: Path, full: Path, corr: Path, pairs: int) -> dict[str, dict]:
    """Pipeline and floor alternately, ``pairs`` times (floor first in even pairs, pipeline
    first in odd ones), on the same files: medians of each, and the median of the per-pair
    ratios, so a burst of other work on the machine weighs on both sides alike."""
    floor_cmd = [PY, "-m", "benchmarks.floor", str(full), str(work / "floor_out")]
    samples: dict[str, list[dict]] = {}
    for i in range(pairs):
        order = ("floor", "pipeline") if i % 2 == 0 else ("pipeline", "floor")
        pair: dict[str, dict] = {}
        for side in order:
            if side == "floor":
                pair["floor"] = measure(floor_cmd, log=work / "floor.log")
                pair["floor"].pop("_timeline", None)
            else:
                pair |= run_pipeline(work, full, corr, tag=f"_{i}")
        for name, r in pair.items():
            samples.setdefault(name, []).append(r)
        print(
            f"pair {i + 1}/{pairs} ({' then '.join(order)}): "
            + ", ".join(f"{k} {v['wall_s']}s/{v['cpu_s']} CPU s" for k, v in pair.items()),
            flush=True,
        )
    out = {name: _median_sample(rs) for name, rs in samples.items()}
    floors = samples["floor"]
    ratios = {}
    for name in ("pipeline_full", "pipeline_one_quarter", "pipeline_nothing_new"):
        for key in ("wall_s", "cpu_s"):
            per_pair = [p[key] / f[key] for p, f in zip(samples[name], floors, strict=True)]
            ratios[f"{name}/floor {key.removesuffix('_s')}"] = round(statistics.median(per_pair), 2)
    out["pairs"] = {"count": pairs, "median_ratio_of_pairs": ratios}
    return out


TINY_RANGE = ("FY2017-Q1", "FY2025-Q4")  # the fiscal quarters the generated extracts cover


def run_fixed_cost(work: Path, pairs: int) -> dict[str, dict]:
    """Fixed cost against Dagster itself: a refresh of a tiny extract (one SCR per quarter of
    TINY_RANGE) and the framework floor (our graph's shape, bodies that do nothing, the same two
    runs on the same SQLite storage) in alternating rounds, the framework floor with our log
    lines and per-quarter observations beside them (what those events cost), plus the DuckDB
    floor on the tiny extract (the floor's own fixed cost, for the marginal-cost ratio)."""
    tiny = work / "tiny"
    shutil.rmtree(tiny, ignore_errors=True)
    write_tiny_extract(tiny / "extracts", *TINY_RANGE)
    samples: dict[str, list[dict]] = {}
    for i in range(pairs):
        order = (
            ("framework_floor", "pipeline_tiny", "framework_floor_events")
            if i % 2 == 0
            else ("framework_floor_events", "pipeline_tiny", "framework_floor")
        )
        for side in order:
            run_dir = tiny / f"{side}_{i}"
            landing = run_dir / "landing"
            landing.mkdir(parents=True)
            env = pipeline_env(run_dir, landing)
            if side == "pipeline_tiny":
                shutil.copy(tiny / "extracts" / "scr_extract_tiny.csv", landing)
                cmd = [str(Path(PY).with_name("scr-pipeline")), "refresh"]
            else:
                first, last = TINY_RANGE
                cmd = [PY, "-m", "benchmarks.framework_floor", "--from", first, "--to", last]
                cmd += ["--with-events"] if side == "framework_floor_events" else []
            r = measure(cmd, env, work / f"{side}.log")
            r |= stage_times(Path(env["DAGSTER_HOME"]), r)
            samples.setdefault(side, []).append(r)
        floor_cmd = [PY, "-m", "benchmarks.floor", str(tiny / "extracts"), str(tiny / "floor_out")]
        r = measure(floor_cmd, log=work / "floor_tiny.log")
        r.pop("_timeline", None)
        samples.setdefault("floor_tiny", []).append(r)
    return {name: _median_sample(rs) for name, rs in samples.items()}


def run_others(work: Path, full: Path, rows: int, baseline_max: int, memory_limit: str) -> dict:
    out = {}
    floor = [PY, "-m", "benchmarks.floor", str(full), str(work / "floor_out")]
    out["floor_capped"] = measure(
        floor + ["--memory-limit", memory_limit, "--threads", "2"], log=work / "floor_capped.log"
    )
    if rows <= baseline_max:
        base = [PY, "-m", "benchmarks.baseline_pandas", str(full), str(work / "baseline_out")]
        out["baseline_pandas"] = measure(base, log=work / "baseline.log")
    for name in list(out):
        out[name].pop("_timeline", None)
    for name in ("floor", "floor_capped", "baseline_pandas"):
        log = work / f"{name.removesuffix('_pandas')}.log"
        if name in out and log.exists():
            last = log.read_text().strip().splitlines()[-1]
            out[name]["steps"] = last
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_ROWS", 1_000_000)))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--work", type=Path, default=Path(os.environ.get("BENCH_WORK", ROOT / "data" / "bench"))
    )
    parser.add_argument(
        "--baseline-max-rows",
        type=int,
        default=int(os.environ.get("BENCH_BASELINE_MAX_ROWS", 3_000_000)),
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=int(os.environ.get("BENCH_PAIRS", 0)) or None,
        help="alternating pipeline/floor pairs (default 3 up to 1M rows, 1 above)",
    )
    args = parser.parse_args(argv)
    pairs = args.pairs or (3 if args.rows <= 1_000_000 else 1)
    memory_limit = os.environ.get("SCR_DUCKDB_MEMORY_LIMIT", "2GB")
    args.work.mkdir(parents=True, exist_ok=True)
    full, corr = prepare(args.work, args.rows, args.seed)
    load = os.getloadavg()[0]
    runs = run_pairs(args.work, full, corr, pairs)
    pair_info = runs.pop("pairs")
    runs |= run_others(args.work, full, args.rows, args.baseline_max_rows, memory_limit)
    reuse = os.environ.get("BENCH_FIXED_FROM")  # the fixed-cost runs do not depend on the size
    if reuse:
        fixed = ("pipeline_tiny", "framework_floor", "framework_floor_events", "floor_tiny")
        earlier = json.loads(Path(reuse).read_text())["runs"]
        runs |= {k: earlier[k] | {"from": reuse} for k in fixed if k in earlier}
    else:
        runs |= run_fixed_cost(args.work, pairs)
    result = {
        "rows": args.rows,
        "correction_rows": json.loads((full / ".generated.json").read_text())["correction"]["rows"],
        "memory_limit": memory_limit,
        "threads": int(os.environ.get("SCR_DUCKDB_THREADS", 2)),
        "cpus": os.cpu_count(),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "baseline_skipped": args.rows > args.baseline_max_rows,
        "pairs": pair_info,
        "elsewhere": other_work(),
        "runs": runs,
        **runs,  # per-run keys at the top level too: result[run]["wall_s"], ["peak_rss_mb"]
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2)
    (RESULTS / "latest.json").write_text(text)
    (RESULTS / f"{args.rows}.json").write_text(text)
    table = render_table(result)
    update_readme(ROOT / "benchmarks" / "README.md")
    print(table)


if __name__ == "__main__":
    main()
