"""The refresh job every automation path goes through, and one job per shape of a refresh run.

``scr_refresh`` holds every asset and check but the weekly rebuild-and-compare: the schedule
and the sensors request stages of it (asset keys and check keys, ``refresh_plan.run_request``).
The CLI runs each shape of run (``RunPlan.stages()``) as its own job, selected by the assets'
``scr/stage`` tag, because ``execute_in_process(asset_selection=...)`` adds back every check of
the selected assets, the weekly verify included (which takes the refresh lock: a refresh would
wait on itself); a job's ``selection`` keeps it out.
"""

from __future__ import annotations

import functools
import operator

import dagster as dg

from assets._shared.tags import STAGE_TAG, WRITER_TAG
from pipelines.orchestration.alerts import record_step_failure
from pipelines.orchestration.refresh_plan import (
    INGEST,
    JOB_NAME,
    MEASURES,
    PUBLISH,
    VERIFY_CHECK,
    stage_job_name,
)

refresh_job = dg.define_asset_job(
    JOB_NAME,
    # every asset and check except the weekly rebuild-and-compare (its own job, pipelines/orchestration/verify.py)
    selection=dg.AssetSelection.all() - dg.AssetSelection.checks(VERIFY_CHECK),
    description="Refresh the SCR measures: ingest new extracts, validate, determine, measure the "
    "changed fiscal quarters and publish. Launched by stage (see pipelines/orchestration/refresh_plan.py).",
    tags=WRITER_TAG,
    hooks={record_step_failure},  # a failed step's typed error, for the run's failure alert
)


def _stage_job(stages: tuple[str, ...]) -> dg.UnresolvedAssetJobDefinition:
    by_tag = functools.reduce(operator.or_, (dg.AssetSelection.tag(STAGE_TAG, s) for s in stages))
    return dg.define_asset_job(
        stage_job_name(stages),
        selection=by_tag - dg.AssetSelection.checks(VERIFY_CHECK),
        description=f"One run of a CLI refresh: the {' and '.join(stages)} stage(s) of "
        f"{JOB_NAME} (assets tagged scr/stage, their checks but the weekly verify).",
        tags=WRITER_TAG,
        hooks={record_step_failure},
    )


# the shapes of run a plan has (RunPlan.stages()): ingest; measures; publish; measures+publish
STAGE_JOBS = [_stage_job(s) for s in ((INGEST,), (MEASURES,), (PUBLISH,), (MEASURES, PUBLISH))]
