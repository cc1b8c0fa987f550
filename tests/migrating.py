"""Moving the test database between migrations, for tests of an upgrade's data changes."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets: list[tuple[str, str | None]] | None = None) -> Any:
    """Migrate to `targets` (every app's latest when None); return every app's models as the
    migrations applied at that point leave them."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    executor.loader.build_graph()
    applied = [n for n in executor.loader.applied_migrations if n in executor.loader.graph.nodes]
    return executor.loader.project_state(applied).apps
