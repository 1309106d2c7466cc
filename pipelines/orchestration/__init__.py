"""The Dagster code location and everything that decides when and how a refresh runs: the
definitions, the one job, its stages and plan, the schedule, sensors, alerts, the instance
settings, the nothing-new stamp and the weekly rebuild-and-compare (verify)."""
