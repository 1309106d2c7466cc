"""A real edit of a file reaches the outputs through the whole chain, with no new extract: the
code versions computed when the code loads, the refresh stamp ("nothing new" no longer holds),
the plan (the published report differs from what the code implies), and the publish step (the
report re-rendered, every Parquet partition reused).

The CLI runs from a copy of the project's code in a temp dir (``python -m pipelines.cli.main``
with that copy first on the path); the project's own files are never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from support.extracts import FILES_A_B, write_csv
from support.project import PROJECT_ROOT, cli_env, output_hashes

FAST = "no file, setting, code or run since the last refresh"
REPORT = "report/index.html"


def _copy_code(dest: Path) -> Path:
    for top in ("assets", "schemas", "pipelines"):
        shutil.copytree(
            PROJECT_ROOT / top, dest / top, ignore=shutil.ignore_patterns("__pycache__")
        )
    for config in PROJECT_ROOT.glob("*.yaml"):  # dagster.template.yaml, workspace.yaml
        shutil.copy(config, dest / config.name)
    return dest


def _refresh(root: Path, code: Path) -> str:
    env = cli_env(root) | {"PYTHONPATH": str(code)}
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli.main", "refresh"],
        env=env,
        cwd=code,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_a_template_edit_rerenders_the_report_and_reuses_every_partition(project, tmp_path):
    code = _copy_code(tmp_path / "code")
    for name, rows in FILES_A_B.items():
        write_csv(project.landing / name, rows)
    first = _refresh(project.root, code)
    assert "9 unchanged quarter file(s) kept" not in first
    assert FAST in _refresh(project.root, code)  # the stamp holds: nothing new
    before = output_hashes(project.output)

    template = code / "assets/report/templates/report.html"
    template.write_text(template.read_text(encoding="utf-8") + "<!-- edited -->\n", "utf-8")
    out = _refresh(project.root, code)
    assert FAST not in out
    assert "[publish] 0 quarter(s) re-measured; 1 file(s) written, 0 removed, " in out
    assert "9 unchanged quarter file(s) kept" in out
    after = output_hashes(project.output)
    assert {p for p in after if after[p] != before.get(p)} == {REPORT, "_manifest.json"}
    assert (project.output / REPORT).read_text(encoding="utf-8").endswith("<!-- edited -->\n")
    assert FAST in _refresh(project.root, code)  # applied once: nothing new again
