"""Search for a raw value that tells each mutant of the typed select list apart (3 min, 1 core).

    python tests/mutation/tell_apart.py          # one line per mutant no value tells apart
    python tests/mutation/tell_apart.py --all    # and every other mutant, with the values

Why: a mutant of ``TYPED_COLUMNS_SQL`` listed as equivalent in ``sql_mutants.EQUIVALENT``
should give the same typed row as the statement for every raw value. This runs the statement
and every mutant over one table of raw SCR rows, each row the passing ``BASE`` with one column
changed: padded with each of chr(0) to chr(33) and a few Unicode spaces (left, right, both,
doubled), around 15 timestamp forms in the timestamp columns. It exits 1 when a mutant listed as
equivalent is told apart (the list is wrong), else 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "mutation")]

import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402
import sql_mutants  # noqa: E402

from assets.landing import ingest  # noqa: E402
from schemas.extracts import SCR  # noqa: E402

BASE = {"scr_id": "P-1", "case_number": "C-OK", "scr_type": "DISRUPTION",
        "criminal_category": "Transnational Gangs", "subcategory": "Street",
        "field_office": "SAC Houston", "status": "APPROVED", "created_at": "2023-08-01T09:00:00",
        "submitted_date": "2023-08-01", "approved_date": "2023-08-01", "tco_involvement": "Y",
        "subject_count": "1", "countries": "US;MX", "last_modified_at": "2023-08-01T12:00:00"}  # fmt: skip
TIMESTAMPS = ("2023-08-01", "2023-08-01T09:00", "2023-08-01 09:00", "2023-08-01T09:00:00",
              "2023-08-01T09:00:00.5", "2023-08-01T09:00:00.123456", "2023-08-01T09:00:00Z",
              "2023-08-01T09:00:00.5Z", "2023-08-01T09:00:00+05:30", "2023-08-01T09:00-0430",
              "2023-08-01T09:00:00+02", "2023-08-01T09:00:00.5-05:00", "2023-08-01 09:00Z",
              "2023-08-01T09Z", "x")  # fmt: skip
PADS = [chr(i) for i in range(34)] + ["\x85", "\xa0", "\u2028", "\u3000", "a", "\xe9"]
FORMS = ("{c}{b}", "{b}{c}", "{c}{b}{c}", "{c}{c}{b}", "{b}{c}{c}", "{c}", " {c}{b}", "{b}{c} ",
         "{c}{b} ", " {b}{c}", "\t{c}{b}", "{b}{c}\t", "{c}{b}\t", "\t{b}{c}")  # fmt: skip


def raw_values(column: str) -> list[str]:
    if column in ("created_at", "last_modified_at"):
        bases = TIMESTAMPS
    else:
        bases = (BASE[column], BASE[column].lower())
    out = {""} | set(bases)
    out |= {f.format(c=c, b=b) for b in bases for c in PADS for f in FORMS}
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--all", action="store_true", help="also list the mutants told apart")
    args = ap.parse_args(argv)
    rows = [{**BASE, c: v} for c in SCR.columns for v in raw_values(c)]
    con = duckdb.connect()
    con.execute(ingest.raw_table_ddl(SCR))
    cols = list(SCR.columns)
    con.register(
        "src", pa.table({"n": range(len(rows)), **{c: [r[c] for r in rows] for c in cols}})
    )
    con.execute(
        f"INSERT INTO raw_scr_versions (file_id, source_file, source_row, ingested_at, "
        f"{', '.join(cols)}) SELECT 1, 'a.csv', n, TIMESTAMP '2024-06-01 12:00', "
        f"{', '.join(cols)} FROM src"
    )
    sites = sql_mutants.sites()
    (site,) = [s for s in sites if s.name == "TYPED_COLUMNS_SQL"]

    def typed(sql: str) -> list[tuple]:
        return con.execute(f"SELECT {sql} FROM raw_scr_versions ORDER BY source_row").fetchall()

    want = typed(sql_mutants.identity(site, sites))
    wrong = 0
    print(f"{len(rows)} raw rows", file=sys.stderr)
    for i, m in enumerate(sql_mutants.mutants(site, sites)):
        apart = [
            rows[k] for k, (w, g) in enumerate(zip(want, typed(m.mutated), strict=True)) if w != g
        ]
        listed = m.key in sql_mutants.EQUIVALENT
        wrong += listed and bool(apart)
        if not apart or args.all:
            found = (
                f"told apart by {len(apart)} rows, e.g. {apart[0]!r}"
                if apart
                else "never told apart"
            )
            print(f"{i} {m.key} {'EQUIVALENT-LISTED ' if listed else ''}{m.label}: {found}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
