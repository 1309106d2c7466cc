"""Tests for `scr-pipeline audit ...`: in-process via pipelines.cli.main.main and as a real
console script in a subprocess."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import audit as cli_audit
from pipelines.cli.main import main

OIG = ["--population", "5016", "--sample-size", "258", "--exceptions", "145"]


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


def _console_script() -> Path:
    repo_venv = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "scr-pipeline"
    return repo_venv if repo_venv.exists() else Path(sys.executable).parent / "scr-pipeline"


def test_project_text_output_matches_oig(capsys):
    assert _run(["audit", "project", *OIG]) == 0
    out = capsys.readouterr().out
    assert "Projected non-TCO cases: 2,819 (90% CI 2,564 to 3,074)" in out
    assert "rate 56.2% [51.1%, 61.3%]" in out


@pytest.mark.parametrize(
    "method, bounds",
    [("normal", (2564, 3074)), ("normal-fpc", (2570, 3068)), ("exact", (2560, 3073))],
)
def test_project_json_in_process(capsys, method, bounds):
    assert _run(["audit", "project", *OIG, "--method", method, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["method"] == method
    assert res["point_estimate"] == 2819
    assert (res["lower_bound"], res["upper_bound"]) == bounds


def test_sample_size_json_and_text(capsys):
    assert _run(["audit", "sample-size", "--population", "5016", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert (res["n0"], res["n"]) == (271, 258)
    assert _run(["audit", "sample-size", "--population", "5016", "--confidence", "0.95"]) == 0
    out = capsys.readouterr().out
    assert "385" in out and "358" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            [
                "audit",
                "project",
                "--population",
                "100",
                "--sample-size",
                "258",
                "--exceptions",
                "1",
            ],
            "cannot exceed population",
        ),
        (["audit", "project", *OIG, "--confidence", "90"], "strictly between 0 and 1"),
        (["audit", "project", *OIG, "--method", "wilson"], "invalid choice"),
        (
            ["audit", "project", "--population", "x", "--sample-size", "1", "--exceptions", "0"],
            "invalid int value",
        ),
        (
            ["audit", "sample-size", "--population", "5016", "--precision", "abc"],
            "expected a fraction",
        ),
        (["audit"], "required"),
    ],
)
def test_invalid_input_exit_2(capsys, argv, message):
    assert _run(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_console_script_json():
    proc = subprocess.run(
        [str(_console_script()), "audit", "project", *OIG, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert set(res) == {
        "population",
        "sample_size",
        "exceptions",
        "confidence",
        "method",
        "rate",
        "rate_lower",
        "rate_upper",
        "point_estimate",
        "lower_bound",
        "upper_bound",
    }
    assert (res["point_estimate"], res["lower_bound"], res["upper_bound"]) == (2819, 2564, 3074)


def test_console_script_invalid_input():
    proc = subprocess.run(
        [str(_console_script()), "audit", "project", *OIG[:4], "--exceptions", "300"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "exceptions (300) cannot exceed sample_size (258)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_help_texts(capsys):
    for argv in (
        ["audit", "--help"],
        ["audit", "project", "--help"],
        ["audit", "sample-size", "--help"],
    ):
        assert _run(argv) == 0
        assert "usage: scr-pipeline audit" in capsys.readouterr().out


def test_register_returns_audit_subparsers_for_more_commands(capsys):
    # Other modules (e.g. `audit draw`) extend the same audit subparsers object.
    parser = argparse.ArgumentParser(prog="scr-pipeline")
    audit_sub = cli_audit.register(parser.add_subparsers(dest="command", required=True))
    draw = audit_sub.add_parser("draw")
    draw.set_defaults(func=lambda args: 0)
    args = parser.parse_args(["audit", "draw"])
    assert args.func(args) == 0
    args = parser.parse_args(["audit", "project", *OIG])
    assert args.func(args) == 0
    assert "2,819" in capsys.readouterr().out
