"""Helpers for the operations tests: a throw-away PostgreSQL server, `dagster dev` in its own
process group, GraphQL calls, and a three-SCR fixture extract.

Every server started here is stopped by the context manager that started it (by pid or
``pg_ctl stop``), so a failing test leaves nothing running.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Debian installs the server binaries per major version, off PATH: newest first.
PG_DIRS = tuple(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))

# Three approved SCRs: FY2024-Q1 holds an INITIAL and a TCO disruption, FY2024-Q2 a non-TCO INITIAL.
FIXTURE_CSV = """\
scr_id,case_number,scr_type,criminal_category,subcategory,field_office,status,created_at,submitted_date,approved_date,tco_involvement,subject_count,countries,last_modified_at
S1,C1,INITIAL,Transnational Gangs,,Houston,APPROVED,2023-10-02T09:00:00,2023-10-03,2023-10-05,Y,3,US;MX,2023-10-05T10:00:00
S2,C1,DISRUPTION,Transnational Gangs,,Houston,APPROVED,2023-11-01T09:00:00,2023-11-02,2023-11-10,Y,3,US;MX,2023-11-10T10:00:00
S3,C2,INITIAL,Cyber-Enabled Crime,,Miami,APPROVED,2024-01-03T09:00:00,2024-01-04,2024-01-08,N,1,US,2024-01-08T10:00:00
"""
FIXTURE_QUARTERS = ["FY2024-Q1", "FY2024-Q2"]


def project_env(tmp: Path) -> dict[str, str]:
    """The contract's variables pointed at ``tmp``, with the fixture extract landed."""
    landing = tmp / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "scr_extract_2024-01-15.csv").write_text(FIXTURE_CSV)
    return {
        "SCR_LANDING_DIR": str(landing),
        "SCR_WAREHOUSE": str(tmp / "warehouse.duckdb"),
        "SCR_OUTPUT_DIR": str(tmp / "output"),
        "DAGSTER_HOME": str(tmp / "dagster_home"),
        "SCR_ARCHIVE_DIR": str(tmp / "archive"),
    }


def quarter_parquet(output_dir: Path, key: str) -> Path:
    from schemas.fiscal import parse_quarter_key

    fy, q = parse_quarter_key(key)
    return (
        output_dir
        / "quarterly_measures"
        / f"fiscal_year={fy}"
        / f"fiscal_quarter={q}"
        / "data.parquet"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], object], timeout: float, what: str, interval: float = 0.5):
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


# --- PostgreSQL ------------------------------------------------------------------------------


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((f"{d}/{name}" for d in PG_DIRS if os.access(f"{d}/{name}", os.X_OK)), None)


@dataclass(frozen=True)
class PgServer:
    port: int
    user: str
    database: str

    def env(self) -> dict[str, str]:
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_DB": self.database,
        }


@contextlib.contextmanager
def postgres_server(tmp_path: Path) -> Iterator[PgServer]:
    """initdb + pg_ctl start on a free 127.0.0.1 port; always pg_ctl stop at the end."""
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under /usr/lib/postgresql"
        )
    run_as, root = _pg_user()
    if root is None:
        root = tmp_path / "pg"
        root.mkdir()
    data, sock, port = root / "data", root / "sock", free_port()
    sock.mkdir()
    if run_as:
        shutil.chown(root, run_as), shutil.chown(sock, run_as)
    kw = {"user": run_as} if run_as else {}
    try:
        subprocess.run([initdb, "-D", str(data), "-U", "dagster", "--auth=trust", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True, **kw)  # fmt: skip
        opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        try:
            subprocess.run([pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "pg.log"), "-w",
                            "-t", "60", "start"], check=True, capture_output=True, **kw)  # fmt: skip
            import psycopg2

            with contextlib.closing(
                psycopg2.connect(host="127.0.0.1", port=port, user="dagster", dbname="postgres")
            ) as con:
                con.autocommit = True
                con.cursor().execute("CREATE DATABASE scr_dagster")
            yield PgServer(port=port, user="dagster", database="scr_dagster")
        finally:
            subprocess.run([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
                           capture_output=True, **kw)  # fmt: skip
    finally:
        if run_as:
            shutil.rmtree(root, ignore_errors=True)


def _pg_user() -> tuple[str | None, Path | None]:
    """PostgreSQL refuses to run as root: then run it as ``postgres`` in a dir it can reach."""
    if os.geteuid() != 0:
        return None, None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run the server as")
    return "postgres", Path(tempfile.mkdtemp(prefix="scr-pg-"))


# --- dagster dev and GraphQL -----------------------------------------------------------------


@dataclass
class DagsterDev:
    url: str
    proc: subprocess.Popen
    log: Path

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            payload = json.loads(resp.read())
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@contextlib.contextmanager
def dagster_dev(
    env: dict[str, str], tmp_path: Path, startup_timeout: float = 150
) -> Iterator[DagsterDev]:
    """`dagster dev` (webserver + daemon) on a free loopback port, in its own process group."""
    from pipelines.orchestration.instance import write_instance_yaml

    full_env = {**os.environ, **env, "DAGSTER_DISABLE_TELEMETRY": "1"}
    write_instance_yaml(Path(env["DAGSTER_HOME"]), env=full_env)
    port = free_port()
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    log = tmp_path / "dagster_dev.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=full_env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    server = DagsterDev(url=f"http://127.0.0.1:{port}", proc=proc, log=log)
    try:
        wait_for(
            lambda: _server_up(server),
            startup_timeout,
            f"dagster dev /server_info\n{server.tail()}",
        )
        wait_for(
            lambda: _location_loaded(server), startup_timeout, f"code location\n{server.tail()}"
        )
        yield server
    finally:
        _stop_group(proc)


def _server_up(server: DagsterDev) -> bool:
    if server.proc.poll() is not None:
        raise AssertionError(f"dagster dev exited with {server.proc.returncode}\n{server.tail()}")
    try:
        with urllib.request.urlopen(f"{server.url}/server_info", timeout=5) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _location_loaded(server: DagsterDev) -> bool:
    data = server.graphql(
        "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
        "locationOrLoadError { __typename ... on PythonError { message } } } } } }"
    )
    entries = data["workspaceOrError"]["locationEntries"]
    for entry in entries:
        if (
            entry["locationOrLoadError"]
            and entry["locationOrLoadError"]["__typename"] == "PythonError"
        ):
            raise AssertionError(f"code location failed: {entry['locationOrLoadError']['message']}")
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group we started (by its pid), SIGKILL if it does not go."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    # children (daemon, code server, run workers) share the group; make sure none remain
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


# --- GraphQL queries used by the end-to-end tests ----------------------------------------------

RUNS_QUERY = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter, limit: 100) {
    __typename
    ... on Runs { results { runId status jobName creationTime startTime endTime
                            tags { key value } } }
    ... on PythonError { message }
  }
}"""

LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def repository_selector(server: DagsterDev) -> dict[str, str]:
    data = server.graphql(
        "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"
    )
    [repo] = data["repositoriesOrError"]["nodes"]
    return {"repositoryName": repo["name"], "repositoryLocationName": repo["location"]["name"]}


def runs(server: DagsterDev) -> list[dict]:
    data = server.graphql(RUNS_QUERY, {"filter": {"pipelineName": "scr_refresh"}})["runsOrError"]
    assert data["__typename"] == "Runs", data
    for run in data["results"]:
        run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
    return data["results"]


def launch_stage_run(server: DagsterDev, stage: str, tags: dict[str, str]) -> str:
    """launchRun for scr_refresh with one stage's asset selection (what the sensors request)."""
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.refresh_plan import RunPlan, stage_keys

    keys = stage_keys(defs, stage)
    params = {
        "selector": {
            **repository_selector(server),
            "jobName": "scr_refresh",
            "assetSelection": [{"path": k.path} for k in keys],
        },
        "executionMetadata": {
            "tags": [{"key": k, "value": v} for k, v in (RunPlan(stage).run_tags() | tags).items()]
        },
    }
    result = server.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def wait_for_runs(server: DagsterDev, run_ids: list[str], timeout: float) -> dict[str, dict]:
    """Wait until every run in ``run_ids`` has finished; returns their records by id."""

    def finished():
        by_id = {r["runId"]: r for r in runs(server) if r["runId"] in run_ids}
        done = len(by_id) == len(run_ids) and all(r["status"] in TERMINAL for r in by_id.values())
        return by_id if done else None

    return wait_for(finished, timeout, f"runs {run_ids} to finish\n{server.tail()}", interval=2)


def wait_until_idle(server: DagsterDev, timeout: float) -> list[dict]:
    """Wait until no scr_refresh run is queued or in progress; returns all runs."""

    def idle():
        current = runs(server)
        return current if current and all(r["status"] in TERMINAL for r in current) else None

    return wait_for(idle, timeout, f"the run queue to drain\n{server.tail()}", interval=2)


# --- one server for the session ------------------------------------------------------------------

_SHARED: dict = {}


def first_refresh_done(server: DagsterDev) -> bool:
    """The landing sensor's ingest run and the planned run that measures and publishes
    succeeded: two runs for the daemon's first refresh, never more."""
    current = wait_until_idle(server, timeout=180)
    failed = [r for r in current if r["status"] != "SUCCESS"]
    assert not failed, f"runs failed: {failed}\n{server.tail()}"
    stages = sorted(r["tags"].get("scr/stage") for r in current)
    assert len(stages) <= 2, f"more than two runs for one refresh: {stages}"
    return stages == ["ingest", "publish"]


def shared_server(config: pytest.Config, tmp_root: Path) -> tuple[DagsterDev, dict[str, str]]:
    """One `dagster dev` for the webserver and concurrency tests (startup is the slow part).

    Started with the fixture extract landed and no refresh: the sensors do the first refresh.
    Stopped when the pytest session ends (``config.add_cleanup``), or at once if it fails.
    """
    if "server" not in _SHARED:
        env = project_env(tmp_root)
        stack = contextlib.ExitStack()
        config.add_cleanup(stack.close)
        try:
            server = stack.enter_context(dagster_dev(env, tmp_root))
            wait_for(lambda: first_refresh_done(server), 240, "the sensors' first refresh", 3)
        except BaseException:
            stack.close()
            raise
        _SHARED.update(server=server, env=env, stack=stack)
    return _SHARED["server"], _SHARED["env"]


def stop_shared_server() -> None:
    """Stop the shared server now rather than at the end of the session (frees the CPU)."""
    stack = _SHARED.pop("stack", None)
    _SHARED.clear()
    if stack is not None:
        stack.close()
