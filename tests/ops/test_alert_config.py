"""Alert webhook configuration: a malformed URL is a configuration error said once at start-up,
the alert is still recorded, and no secret of the URL (user info, path tokens, query) ever
reaches a log line, ``alerts.jsonl`` or an error message.

The oracle for "secret" is written here: every part of the test URLs marked SECRET.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.orchestration import alerts

SECRET = "s3cr3tT0ken"
MALFORMED = {
    "no scheme": f"hooks.example.gov/services/T01/{SECRET}?token={SECRET}",
    "non-numeric port": f"https://hooks.example.gov:44x3/services/{SECRET}",
    "port out of range": f"https://hooks.example.gov:99999/{SECRET}",
    "ftp scheme": f"ftp://hooks.example.gov/{SECRET}",
    "no host": f"https:///{SECRET}",
    "space inside": f"https://hooks.example.gov/a b/{SECRET}",
}
WELL_FORMED_DEAD = f"http://user:{SECRET}@127.0.0.1:9/hook/{SECRET}?key={SECRET}#{SECRET}"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.delenv(alerts.WEBHOOK_ENV, raising=False)
    alerts._reported.clear()
    return tmp_path


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_url_is_named_as_such_and_the_alert_recorded(home: Path, kind: str, capsys):
    url = MALFORMED[kind]
    assert alerts.webhook_problem(url) is not None
    record = alerts.deliver({"kind": "run_failure", "message": "boom"}, webhook_url=url)
    assert record["webhook"].startswith(f"not sent: {alerts.WEBHOOK_ENV} is malformed (")
    lines = (home / "alerts" / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["boom"]
    err = capsys.readouterr().err
    assert err.count("configuration error") == 1 and "<malformed URL>" in err
    assert SECRET not in err and SECRET not in lines[0] and "T01" not in err


def test_configuration_error_is_reported_once_per_process(home: Path, monkeypatch):
    monkeypatch.setenv(alerts.WEBHOOK_ENV, MALFORMED["non-numeric port"])
    stream = io.StringIO()
    first = alerts.report_webhook_config(stream=stream)
    second = alerts.report_webhook_config(stream=stream)
    for _ in range(3):
        alerts.deliver({"kind": "late_measure", "message": "late"})
    assert first == second and "its port is not a number" in first
    assert stream.getvalue().count("configuration error") == 1
    assert len((home / "alerts" / "alerts.jsonl").read_text().splitlines()) == 3


def test_well_formed_url_reports_nothing(home: Path):
    stream = io.StringIO()
    assert alerts.report_webhook_config("https://hooks.example.gov/x", stream=stream) is None
    assert stream.getvalue() == ""


def test_start_up_reports_the_malformed_url_once(tmp_path: Path):
    """Loading the code location (what `scr-pipeline refresh` and the UI do) says it once."""
    env = {"PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(tmp_path)}
    env[alerts.WEBHOOK_ENV] = MALFORMED["no scheme"]
    proc = subprocess.run(
        [sys.executable, "-c", "import pipelines.orchestration.definitions, pipelines.orchestration.alerts as a; "
         "a.report_webhook_config()"],
        env=env, capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("configuration error: SCR_ALERT_WEBHOOK_URL") == 1
    assert SECRET not in proc.stderr + proc.stdout


def test_unreachable_webhook_failure_is_recorded_without_secrets(home: Path):
    record = alerts.deliver(
        {"kind": "run_failure", "message": "boom"}, webhook_url=WELL_FORMED_DEAD
    )
    assert record["webhook"].startswith("failed: ")
    text = (home / "alerts" / "alerts.jsonl").read_text()
    assert SECRET not in text and "user" not in text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (WELL_FORMED_DEAD, "http://127.0.0.1:9/***"),
        (f"https://hooks.slack.com/services/T0/B0/{SECRET}", "https://hooks.slack.com/***"),
        (MALFORMED["no scheme"], "<malformed URL>"),
        (MALFORMED["non-numeric port"], "<malformed URL>"),
    ],
)
def test_redacted_url_shows_only_scheme_host_and_port(url: str, shown: str):
    assert alerts.redact(url, url) == shown
    assert alerts.redact(f"cannot reach {url}: refused", url) == f"cannot reach {shown}: refused"


TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=8)


@settings(derandomize=True, max_examples=200)
@given(
    token=TOKEN,
    user=TOKEN,
    scheme=st.sampled_from(["http://", "https://", "", "htp://"]),
    port=st.sampled_from(["", ":8443", ":84x3", ":"]),
    where=st.sampled_from(["path", "query", "userinfo", "fragment"]),
)
def test_no_secret_survives_redaction(token, user, scheme, port, where):
    """Whatever the URL looks like, a token in its path, query, user info or fragment is
    masked in any message quoting the URL or the token alone (as urllib errors do)."""
    parts = {
        "path": f"{scheme}hooks.example.gov{port}/hooks/{token}",
        "query": f"{scheme}hooks.example.gov{port}/hook?sig={token}",
        "userinfo": f"{scheme}{user}:{token}@hooks.example.gov{port}/hook",
        "fragment": f"{scheme}hooks.example.gov{port}/hook#{token}",
    }
    url = parts[where]
    for message in (f"failed: {url}", f"unknown url type: {url!r}", f"bad token {token}"):
        assert token not in alerts.redact(message, url)
    if where == "userinfo":
        assert user not in alerts.redact(f"login {user} refused", url)
