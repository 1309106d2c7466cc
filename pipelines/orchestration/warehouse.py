"""The code location's warehouse binding: a run started by the daemon or the UI voids the
CLI's "nothing new" stamp when it starts.

Why here and not in ``assets._shared.resources``: the resource is only a connection; what a run
means for the CLI's shortcut is the pipelines layer's business. Dagster calls
``setup_for_execution`` once per run that uses the warehouse, before its first step (documented
under "Managing resource state"). A CLI refresh passes its own ``WarehouseResource`` (held
open) to its runs and writes the stamp itself after them.
"""

from __future__ import annotations

import dagster as dg

from assets._shared.resources import FilesResource, WarehouseResource
from pipelines.orchestration.refresh_stamp import void_stamp


class LocationWarehouse(WarehouseResource):
    """The warehouse as the code location binds it: a run that uses it voids the stamp."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        void_stamp()


def location_resources() -> dict[str, dg.ConfigurableResource]:
    """The resources of the code location (read their settings when a run uses them)."""
    return {"warehouse": LocationWarehouse(), "files": FilesResource()}
