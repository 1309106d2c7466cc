"""How the assets are run: ``orchestration`` (the Dagster code location: definitions, the one
job, sensors, schedule, refresh plan, instance, verify), ``cli`` (``scr-pipeline`` and its
sub-commands, which drive the orchestration in-process) and ``demo`` (realistic demo extracts).
Imports run cli -> orchestration, cli -> demo; never the other way (``make lint``)."""
