"""Mutation testing of the code that decides the number: mutmut over the Python modules and the
SQL-level mutants of ``sql_mutants.py``, counted together.

    python tests/mutation/run.py            # both parts (what `make mutation` runs)
    python tests/mutation/run.py --sql      # SQL mutants only (a few minutes)
    python tests/mutation/run.py --mutmut   # mutmut only

The SQL part starts ``--jobs`` worker processes (``sql_worker.py``), each running the fast SQL
test selection once per mutant it owns, in memory. The mutmut part runs ``mutmut run`` with the
``[tool.mutmut]`` configuration of pyproject.toml (a fresh run: ``mutants/`` is removed first
unless ``--keep-mutmut-cache``). The summary goes to ``benchmarks/results/mutation.json`` and
``.md``; the last line printed is ``mutation score: K/N killed (P%)``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".mutation"
RESULTS = ROOT / "benchmarks" / "results"
SKIP_ENV = "SQL_MUTANTS_SKIP"  # a JSON list of mutant keys the workers do not run (killed before)
# mutmut's statuses; "timeout" is a kill (the mutant made the tests hang), as mutmut counts it
MUTMUT_KILLED = {"killed", "timeout"}
MUTMUT_NOT_RUN = {"skipped"}


def _python() -> str:
    return sys.executable


def _pct(k: int, n: int) -> str:
    return f"{100.0 * k / n:.1f}%" if n else "n/a"


def _previous_sql_rows() -> list[dict]:
    """The mutant rows of the last SQL run (``.mutation/sql-*.jsonl``)."""
    rows = [
        json.loads(line) for o in WORK.glob("sql-*.jsonl") for line in o.read_text().splitlines()
    ]
    return [r for r in rows if r["index"] >= 0]


def run_sql(jobs: int, tests: list[str] | None, rerun_survivors: bool = False) -> dict:
    """All SQL mutants over ``jobs`` workers, each against the tests that pin its statement
    (``sql_mutants.TARGETS``) unless ``tests`` is given; returns the part's summary. With
    ``rerun_survivors`` the mutants the last run killed are not run again (tests only ever get
    stronger, so a kill stays a kill); every other mutant runs: the survivors, and every mutant
    of a statement that changed since (a mutant is known by its key: statement and text)."""
    WORK.mkdir(exist_ok=True)
    kept: list[dict] = []
    os.environ.pop(SKIP_ENV, None)
    if rerun_survivors:
        previous = _previous_sql_rows()
        if not previous or any("key" not in r for r in previous):
            sys.exit("no earlier SQL run with mutant keys in .mutation/ to re-run the survivors of")
        sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "mutation")]
        import sql_mutants

        now = {m.key: i for i, m in enumerate(sql_mutants.all_mutants())}
        kept = [{**r, "index": now[r["key"]]} for r in previous
                if r["outcome"] == "killed" and r["key"] in now]  # fmt: skip
        skip = WORK / "sql-skip.json"
        skip.write_text(json.dumps([r["key"] for r in kept]))
        os.environ[SKIP_ENV] = str(skip)
    outs = [WORK / f"sql-{i}.jsonl" for i in range(jobs)]
    for o in WORK.glob("sql-*.jsonl"):
        o.unlink()
    worker = ROOT / "tests" / "mutation" / "sql_worker.py"
    procs = [
        subprocess.Popen(
            [
                _python(),
                str(worker),
                str(i),
                str(jobs),
                str(outs[i]),
                *(["--", *tests] if tests else []),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(WORK / f"sql-{i}.log", "w"),  # noqa: SIM115 - closed with the process
        )
        for i in range(jobs)
    ]
    codes = [p.wait() for p in procs]
    rows = [json.loads(line) for o in outs if o.exists() for line in o.read_text().splitlines()]
    baselines = [r for r in rows if r["index"] < 0]
    if any(c != 0 for c in codes) or len(baselines) != jobs:
        logs = "\n".join((WORK / f"sql-{i}.log").read_text()[-2000:] for i in range(jobs))
        sys.exit(f"SQL mutation workers failed (exit codes {codes}):\n{logs}")
    mutants = sorted((r for r in rows if r["index"] >= 0), key=lambda r: r["index"])
    if kept:  # the earlier kills, written back so that a further re-run sees them
        mutants = sorted(kept + mutants, key=lambda r: r["index"])
        (WORK / "sql-kept.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
    killed = [r for r in mutants if r["outcome"] == "killed"]
    why = _equivalents()
    survivors = [r for r in mutants if r["outcome"] != "killed"]
    stale = sorted(set(why) - {r.get("key") for r in survivors})
    if stale:  # a statement changed, or a test now kills it: the list is to be checked again
        print(f"sql_mutants.EQUIVALENT: {len(stale)} key(s) name no surviving mutant: {stale}")
    return {
        "tests": tests or "per statement (tests/mutation/sql_mutants.py TARGETS)",
        "killed": len(killed),
        "by_statement": _by_statement(mutants),
        "total": len(mutants),
        "equivalent": sum(r.get("key") in why for r in survivors),
        "kept_from_last_run": len(kept),
        "survivors": [
            r["label"] + (f" (equivalent: {why[r['key']]})" if r.get("key") in why else "")
            for r in survivors
        ],
        "baseline_seconds": [b["seconds"] for b in baselines],
        "mutants": mutants,
    }


def _equivalents() -> dict[str, str]:
    """Mutant key -> why no input tells it apart (``sql_mutants.EQUIVALENT``); still a survivor."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "mutation")]
    import sql_mutants

    return sql_mutants.EQUIVALENT


def _by_statement(mutants: list[dict]) -> dict[str, str]:
    """'killed/total' per statement (the label up to its first ': ')."""
    out: dict[str, list[int]] = {}
    for r in mutants:
        k = out.setdefault(r["label"].split(": ")[0], [0, 0])
        k[0] += r["outcome"] == "killed"
        k[1] += 1
    return {name: f"{k}/{n}" for name, (k, n) in out.items()}


def run_mutmut(jobs: int, keep_cache: bool) -> dict:
    """``mutmut run`` then ``mutmut results --all true``; returns the part's summary."""
    mutmut = str(Path(_python()).with_name("mutmut"))
    if not keep_cache:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    WORK.mkdir(exist_ok=True)
    with open(WORK / "mutmut.log", "w") as log:
        code = subprocess.call(
            [mutmut, "run", "--max-children", str(jobs)], cwd=ROOT, stdout=log, stderr=log
        )
    if code != 0:
        tail = (WORK / "mutmut.log").read_text()[-3000:]
        sys.exit(f"mutmut run failed (exit {code}); see .mutation/mutmut.log:\n{tail}")
    out = subprocess.run(
        [mutmut, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    status = dict(re.findall(r"^\s+(\S+): (.+)$", out, flags=re.M))
    by_status: dict[str, int] = {}
    for s in status.values():
        by_status[s] = by_status.get(s, 0) + 1
    counted = {k: s for k, s in status.items() if s not in MUTMUT_NOT_RUN}
    killed = sum(1 for s in counted.values() if s in MUTMUT_KILLED)
    return {
        "killed": killed,
        "total": len(counted),
        "by_status": by_status,
        "survivors": sorted(f"{k}: {s}" for k, s in counted.items() if s not in MUTMUT_KILLED),
    }


def write_summary(parts: dict, seconds: dict) -> tuple[int, int]:
    k = sum(p["killed"] for p in parts.values())
    n = sum(p["total"] for p in parts.values())
    RESULTS.mkdir(parents=True, exist_ok=True)
    summary = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "killed": k,
        "total": n,
        "score": round(100.0 * k / n, 1) if n else None,
        "seconds": seconds,
        "parts": {
            name: {x: v for x, v in p.items() if x != "mutants"} for name, p in parts.items()
        },
    }
    (RESULTS / "mutation.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        "# Mutation testing result",
        "",
        f"Run {summary['date']} by `make mutation` (docs/TESTING.md explains it).",
        "",
        "| part | killed | mutants | score | seconds |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, p in parts.items():
        lines.append(
            f"| {name} | {p['killed']} | {p['total']} | {_pct(p['killed'], p['total'])} "
            f"| {seconds.get(name, 0):.0f} |"
        )
    lines += [
        f"| **together** | **{k}** | **{n}** | **{_pct(k, n)}** | {sum(seconds.values()):.0f} |"
    ]
    for name, p in parts.items():
        if p.get("kept_from_last_run"):
            lines += [
                "",
                f"--rerun-survivors: {p['kept_from_last_run']} {name} kills are kept from the "
                f"run before; the other {p['total'] - p['kept_from_last_run']} mutants ran now "
                "(the seconds are this run's).",
            ]
    for name, p in parts.items():
        if "by_statement" in p:
            lines += ["", f"## {name} mutants per statement (killed/total)", ""]
            lines += [f"- `{k}`: {v}" for k, v in p["by_statement"].items()]
    for name, p in parts.items():
        lines += ["", f"## Surviving {name} mutants ({len(p['survivors'])})", ""]
        if p.get("equivalent"):
            lines += [
                f"{p['equivalent']} of them are equivalent (no input tells them apart; why: "
                "`(equivalent: ...)` below, `tests/mutation/sql_mutants.py` EQUIVALENT and "
                "docs/TESTING.md). They count as survivors in the score, not as kills.",
                "",
            ]
        lines += [f"- `{s}`" for s in p["survivors"]] or ["none"]
    (RESULTS / "mutation.md").write_text("\n".join(lines) + "\n")
    return k, n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Mutation testing: mutmut over the modules that decide the number plus the "
        "SQL-level mutants (tests/mutation/sql_mutants.py); prints "
        "'mutation score: K/N killed (P%)' last and writes benchmarks/results/mutation.{json,md}."
    )
    part = ap.add_mutually_exclusive_group()
    part.add_argument("--sql", action="store_true", help="run only the SQL mutants")
    part.add_argument("--mutmut", action="store_true", help="run only mutmut")
    ap.add_argument(
        "--jobs",
        type=int,
        default=int(os.environ.get("MUTATION_JOBS", "2")),
        help="worker processes per part (default 2, or $MUTATION_JOBS)",
    )
    ap.add_argument(
        "--sql-tests",
        nargs="+",
        default=None,
        metavar="TEST",
        help="test selection run for every SQL mutant (default: each statement's own tests, "
        "tests/mutation/sql_mutants.py TARGETS)",
    )
    ap.add_argument(
        "--keep-mutmut-cache",
        action="store_true",
        help="reuse mutants/ from an earlier run (mutmut re-tests only what changed)",
    )
    ap.add_argument(
        "--rerun-survivors",
        action="store_true",
        help="SQL part: run only the survivors of the last SQL run again, keep its kills",
    )
    ap.add_argument("--list", action="store_true", help="list the SQL mutants and exit")
    args = ap.parse_args(argv)

    if args.list:
        sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "mutation")]
        import sql_mutants

        for i, m in enumerate(sql_mutants.all_mutants()):
            print(i, m.label)
        return 0

    parts: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    if not args.sql:
        t0 = time.monotonic()
        parts["mutmut"] = run_mutmut(args.jobs, args.keep_mutmut_cache)
        seconds["mutmut"] = round(time.monotonic() - t0, 1)
    if not args.mutmut:
        t0 = time.monotonic()
        parts["sql"] = run_sql(args.jobs, args.sql_tests, args.rerun_survivors)
        seconds["sql"] = round(time.monotonic() - t0, 1)

    k, n = write_summary(parts, seconds)
    for name, p in parts.items():
        print(f"{name} survivors ({len(p['survivors'])}):")
        for s in p["survivors"]:
            print(f"    {s}")
    for name, p in parts.items():
        extra = f" {p['by_status']}" if "by_status" in p else ""
        extra += f"; {p['equivalent']} survivors equivalent" if p.get("equivalent") else ""
        print(
            f"{name}: {p['killed']}/{p['total']} killed ({_pct(p['killed'], p['total'])}) "
            f"in {seconds[name]:.0f} s{extra}"
        )
    print("summary: benchmarks/results/mutation.json, benchmarks/results/mutation.md")
    print(f"mutation score: {k}/{n} killed ({_pct(k, n)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
