"""Realistic demo extracts (SCRs, cases, resource requests) for ``scr-pipeline demo`` and the
benchmarks; shaped after the audit's figures (catalog)."""
