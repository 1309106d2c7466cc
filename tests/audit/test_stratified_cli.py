"""`scr-pipeline audit project --method stratified`: RAT-STATS' stratified attribute appraisal
from the command line, the contract's JSON keys, and messages (no traceback) for bad input."""

from __future__ import annotations

import json

import pytest

from pipelines.cli.main import main

HAND = ["--stratum", "1000,50,5", "--stratum", "500,40,20", "--stratum", "200,30,27"]
KEYS = {"population", "sample_size", "exceptions", "confidence", "method", "rate", "rate_lower",
        "rate_upper", "point_estimate", "lower_bound", "upper_bound", "precision", "strata"}  # fmt: skip


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


def test_json_has_the_contract_keys_and_the_hand_worked_numbers(capsys):
    assert _run(["audit", "project", "--method", "stratified", *HAND, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert KEYS <= set(res)
    assert (res["point_estimate"], res["lower_bound"], res["upper_bound"]) == (530, 435, 625)
    assert res["precision"] == pytest.approx(0.0557904, abs=5e-7)
    assert [
        {k: s[k] for k in ("population", "sample_size", "exceptions")} for s in res["strata"]
    ] == [{"population": 1000, "sample_size": 50, "exceptions": 5},
          {"population": 500, "sample_size": 40, "exceptions": 20},
          {"population": 200, "sample_size": 30, "exceptions": 27}]  # fmt: skip
    assert {"rate", "precision"} <= set(res["strata"][0])


def test_text_output(capsys):
    assert _run(["audit", "project", "--method", "stratified", *HAND]) == 0
    out = capsys.readouterr().out
    assert "Projected exceptions: 530 (90% CI 435 to 625), rate 31.2% +/- 5.6%" in out


def test_confidence_changes_z(capsys):
    assert _run(["audit", "project", "--method", "stratified", *HAND, "--confidence", "0.95",
                 "--json"]) == 0  # fmt: skip
    res = json.loads(capsys.readouterr().out)
    assert res["precision"] == pytest.approx(0.0557904 / 1.644853627 * 1.959963985, abs=1e-6)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--method", "stratified"], "needs --stratum"),
        (["--method", "stratified", "--stratum", "10,50,5"], "exceeds its population"),
        (["--method", "stratified", "--stratum", "10,5"], "POPULATION,SAMPLE,EXCEPTIONS"),
        (["--method", "stratified", "--stratum", "10,5,1", "--population", "9"], "by --stratum"),
        (["--stratum", "10,5,1"], "--method stratified"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(capsys, argv, message):
    assert _run(["audit", "project", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--design", "stratified", "--seed", "1"], "--design stratified needs --fiscal-year"),
        (["--fiscal-year", "2024", "--seed", "1"], "go with --design stratified"),
        (["--design", "stratified", "--fiscal-year", "24", "--seed", "1"], "a fiscal year such as"),
        (["--design", "stratified", "--fiscal-year", "2024", "--seed", "1", "--second-review",
          "1.5"], "a share between 0 and 1"),
    ],
)  # fmt: skip
def test_draw_arguments_are_checked_before_anything_runs(
    capsys, argv, message, tmp_path, monkeypatch
):
    from support.project import use_env

    use_env(monkeypatch, tmp_path)  # never the project's own data dir, whatever happens
    assert _run(["audit", "draw", *argv]) in (1, 2)
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
