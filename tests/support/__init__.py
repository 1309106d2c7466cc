"""Test support, one package: ``extracts`` (rows and files), ``project`` (isolated environments,
refreshes, the CLI, snapshots), ``ops`` (real servers: PostgreSQL, ``dagster dev``, GraphQL) and
``report`` (the report's fixed small history). The fuzz oracle stays beside the fuzz tests
(tests/fuzz/fuzz_oracle.py): it must import nothing from the project."""
