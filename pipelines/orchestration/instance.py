"""The Dagster instance: SQLite under DAGSTER_HOME by default, PostgreSQL when configured.

A ``dagster.yaml`` cannot branch on the environment, so this module writes the instance's
``DAGSTER_HOME/dagster.yaml`` from the project's template (``dagster.template.yaml`` at the project root)
each time the CLI starts, and on demand for ``dagster dev`` / the daemon / the webserver::

    python -m pipelines.orchestration.instance          # writes $DAGSTER_HOME/dagster.yaml, prints the storage

When ``DAGSTER_PG_HOST``, ``DAGSTER_PG_USER`` and ``DAGSTER_PG_DB`` are set, run, event-log and
schedule storage go to PostgreSQL through dagster-postgres. The file refers to the variables
(``{env: ...}``), so the password is never written to disk. A ``dagster.yaml`` the operator wrote
by hand (one whose first line is not :data:`MANAGED_HEADER`) is left alone.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import yaml

from assets._shared import settings
from assets._shared.errors import PipelineError, WarehouseBusyError

MANAGED_HEADER = "# Dagster instance settings"
TEMPLATE = settings.PROJECT_ROOT / "dagster.template.yaml"
PG_REQUIRED = ("DAGSTER_PG_HOST", "DAGSTER_PG_USER", "DAGSTER_PG_DB")
PG_OPTIONAL = ("DAGSTER_PG_PORT", "DAGSTER_PG_PASSWORD")
PG_SCHEME = "postgresql+psycopg2"
# dagster-postgres's postgres_db fields, and the variable each one reads
PG_FIELDS = {
    "hostname": "DAGSTER_PG_HOST",
    "username": "DAGSTER_PG_USER",
    "db_name": "DAGSTER_PG_DB",
    "port": "DAGSTER_PG_PORT",
    "password": "DAGSTER_PG_PASSWORD",
}


class InstanceConfigError(PipelineError):
    """The PostgreSQL settings are incomplete; names the variables to set."""


def postgres_configured(env: dict[str, str] | None = None) -> bool:
    """True when the operator asked for PostgreSQL storage (any required variable set)."""
    env = os.environ if env is None else env
    return any(env.get(name) for name in PG_REQUIRED)


def postgres_storage(env: dict[str, str]) -> dict:
    """The ``storage: postgres:`` block, reading each setting from its variable at start-up."""
    missing = [name for name in PG_REQUIRED if not env.get(name)]
    if missing:
        raise InstanceConfigError(
            f"PostgreSQL storage needs {', '.join(PG_REQUIRED)}; {', '.join(missing)} "
            "not set. Set them, or unset all DAGSTER_PG_* variables to use SQLite under "
            "DAGSTER_HOME."
        )
    db: dict = {field: {"env": var} for field, var in PG_FIELDS.items() if env.get(var)}
    # SQLAlchemy 2.1 maps plain ``postgresql://`` to psycopg 3; the lock ships psycopg2
    db["scheme"] = PG_SCHEME
    return {"postgres": {"postgres_db": db}}


def render_instance_yaml(env: dict[str, str] | None = None, template: Path = TEMPLATE) -> str:
    """The instance's dagster.yaml: the template, plus PostgreSQL storage when configured."""
    env = dict(os.environ if env is None else env)
    text = template.read_text()
    if not postgres_configured(env):
        return text
    config = yaml.safe_load(text) or {}
    config["storage"] = postgres_storage(env)
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    return f"{header}\n# storage: PostgreSQL (DAGSTER_PG_* variables)\n" + yaml.safe_dump(
        config, sort_keys=False
    )


def write_instance_yaml(home: Path | None = None, env: dict[str, str] | None = None) -> Path:
    """Write DAGSTER_HOME/dagster.yaml from the template unless the operator owns the file."""
    home = settings.path_from_env("DAGSTER_HOME") if home is None else home
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if target.exists() and not target.read_text().startswith(MANAGED_HEADER):
        return target
    text = render_instance_yaml(env)
    if not target.exists() or target.read_text() != text:
        tmp = target.with_suffix(".yaml.tmp")
        tmp.write_text(text)
        tmp.replace(target)
    return target


def get_instance():
    """The configured Dagster instance (write its dagster.yaml first); close it when done."""
    import dagster as dg

    write_instance_yaml()
    return dg.DagsterInstance.get()


def storage_summary(env: dict[str, str] | None = None) -> str:
    """One line for the operator: where run history goes."""
    env = os.environ if env is None else env
    if postgres_configured(env):
        port = env.get("DAGSTER_PG_PORT") or "5432"
        return (
            f"PostgreSQL {env.get('DAGSTER_PG_USER')}@{env.get('DAGSTER_PG_HOST')}:{port}/"
            f"{env.get('DAGSTER_PG_DB')}"
        )
    return f"SQLite under {settings.path_from_env('DAGSTER_HOME')}"


def main(argv: list[str] | None = None) -> None:
    """``python -m pipelines.orchestration.instance``: write the instance config before dagster dev/daemon."""
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.orchestration.instance",
        description="Write $DAGSTER_HOME/dagster.yaml from the project's template: SQLite under "
        "DAGSTER_HOME, or PostgreSQL when DAGSTER_PG_HOST, DAGSTER_PG_USER and DAGSTER_PG_DB "
        "(and optionally DAGSTER_PG_PORT, DAGSTER_PG_PASSWORD) are set. Run it before "
        "`dagster dev`, `dagster-webserver` or `dagster-daemon run`.",
    )
    parser.parse_args(argv)
    settings.apply_defaults()
    if os.environ.get("SCR_ALERT_WEBHOOK_URL"):  # said at the service's start-up (ExecStartPre)
        from pipelines.orchestration.alerts import report_webhook_config

        report_webhook_config()
    try:
        path = write_instance_yaml()
    except InstanceConfigError as err:
        raise SystemExit(f"error: {err}") from None
    print(f"{path}: run history in {storage_summary()}")


def runs_in_progress(instance) -> list[str]:
    """Queued or running Dagster runs other than a CLI refresh ("<run id> (<stage>)").

    Every run of this code location writes the warehouse (UI materializations included, which
    carry no writer tag); in-process CLI runs are excluded because a killed CLI refresh can
    leave its run marked STARTED forever, and the refresh lock already covers the CLI.
    """
    import dagster as dg

    from pipelines.orchestration.refresh_plan import STAGE_TAG

    active = [
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    ]
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=active), limit=20)
    return [
        f"{r.run_id} ({r.tags.get(STAGE_TAG, 'all assets')})"
        for r in runs
        if r.tags.get("scr/trigger") != "cli"
    ]


def wait_for_queued_runs(instance, wait: bool, poll_seconds: float = 10.0) -> None:
    """Before an in-process refresh: the daemon's runs go first (they hold the warehouse)."""
    while busy := runs_in_progress(instance):
        if not wait:
            raise WarehouseBusyError(
                f"Dagster run(s) {', '.join(busy)} are queued or running against this "
                "warehouse; wait for them to finish (see the UI) or use --wait"
            )
        time.sleep(poll_seconds)


if __name__ == "__main__":
    main()
