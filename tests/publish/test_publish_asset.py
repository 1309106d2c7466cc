"""The ``published_outputs`` asset materialized alone by Dagster on a copy of the refreshed A+B
warehouse: which refresh the manifest names, and the metadata the UI shows for a first publish
and for a correction.

Not in the mutation selection: mutmut leaves decorated functions (the asset body) unmutated,
and what the body calls is covered by test_publish_inprocess.py.
"""

from __future__ import annotations

import shutil

import dagster as dg
from support.extracts import FILES_A_B
from support.project import refreshed_warehouse as _base
from test_publish_inprocess import CAT_Q4, EVERY_FILE, Q2, WORKBOOK

from assets._shared.resources import FilesResource, WarehouseResource
from assets.publish.manifest import read_manifest
from assets.publish.published_outputs import published_outputs


def _metadata(result: dg.ExecuteInProcessResult) -> dict:
    (mat,) = result.asset_materializations_for_node("published_outputs")
    return {k: v.value for k, v in mat.metadata.items()}


def test_published_outputs_metadata_for_a_first_publish_and_a_correction(tmp_path):
    db, out = tmp_path / "warehouse.duckdb", tmp_path / "out"
    shutil.copy(_base("ab", FILES_A_B), db)
    warehouse = WarehouseResource(path=str(db))
    resources = {
        "warehouse": warehouse,
        "files": FilesResource(landing_dir=str(tmp_path / "landing"), output_dir=str(out)),
    }
    page = out / "report" / "index.html"
    with dg.instance_for_test() as instance:
        first = dg.materialize(
            [published_outputs],
            resources=resources,
            instance=instance,
            tags={"scr/refresh_id": "refresh-1"},
        )
        meta = _metadata(first)
        text = page.read_text(encoding="utf-8")
        assert meta == {
            "files_written": 27,
            "files_removed": 0,
            "files_published": 27,
            "partitions_written": 9,  # three tables x three quarters
            "partitions_reused": 0,
            "written": EVERY_FILE,
            "removed": [],
            "leftovers_removed": [],
            "release_id": out.resolve().name,
            "release_dir": str(out.resolve()),
            "adopted": "",
            "kept_files": [],
            "kept_dir": "",
            "releases_pruned": [],
            "output_dir": str(out),
            "manifest": str(out / "_manifest.json"),
            "path": str(page),
            "url": page.resolve().as_uri(),
            "size_bytes": page.stat().st_size,
            "charts": text.count("<svg "),
            "sections": text.count("<section "),
        }
        assert (meta["charts"], meta["sections"]) == (3, 9)  # every numbered section: always
        assert read_manifest(out)["refresh_id"] == "refresh-1"  # the refresh, not the run
        first_release = meta["release_id"]

        with warehouse.connect() as con:
            con.execute(
                "UPDATE quarterly_measures SET dd_total = dd_total + 1 "
                "WHERE fiscal_year = 2024 AND fiscal_quarter = 2"
            )
            con.execute("DELETE FROM category_measures WHERE fiscal_year = 2023")
        (out / "quarterly_measures" / ".data.parquet.1.tmp").write_bytes(b"half")
        second = dg.materialize([published_outputs], resources=resources, instance=instance)
        meta = _metadata(second)
        assert {k: meta[k] for k in list(meta)[:12]} == {
            "files_written": 3,
            "files_removed": 1,
            "files_published": 26,
            "partitions_written": 1,
            # 9 partitions less the one removed less Q2: not queried or written again
            "partitions_reused": 7,
            "written": [WORKBOOK, Q2, "report/index.html"],
            "removed": [CAT_Q4],
            "leftovers_removed": [],
            "release_id": out.resolve().name,
            "release_dir": str(out.resolve()),
            "adopted": "",
            # nobody published it: copied out of the old release before the switch
            "kept_files": ["quarterly_measures/.data.parquet.1.tmp"],
        }
        assert meta["release_id"] != first_release
        assert read_manifest(out)["refresh_id"] == second.run_id  # no refresh tag: the run
        logged = [
            e.user_message for e in instance.all_logs(second.run_id) if not e.is_dagster_event
        ]
        assert "published 3 changed file(s), removed 1, 26 file(s) in the manifest" in logged
