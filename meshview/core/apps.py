import contextlib
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def private_sqlite_files(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Keep an SQLite database (and its WAL and shared-memory files) readable by meshview's user
    alone, whatever the umask it was created under."""
    if connection.vendor != "sqlite" or str(connection.settings_dict["NAME"]).startswith(("file:", ":memory:")):
        return
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{connection.settings_dict['NAME']}{suffix}")
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)


class CoreConfig(AppConfig):
    name = "meshview.core"
    label = "core"
    verbose_name = "meshview core"

    def ready(self) -> None:
        from meshview.core import logins, schema  # noqa: F401  (the failed-login counter, the OpenAPI auth extension)

        connection_created.connect(private_sqlite_files, dispatch_uid="meshview-private-sqlite-files")
