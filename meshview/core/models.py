"""API tokens and worker heartbeats."""

import hashlib

from django.db import models

SCOPES = ("ingest", "read", "admin")


def hash_token(raw: str) -> str:
    """Return the SHA-256 hex digest meshview stores instead of a token itself."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for scripts, shippers and exporters. Only its hash is stored."""

    name = models.CharField(max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="First characters of the token, to tell tokens apart")
    scopes = models.JSONField(default=list)
    namespaces = models.JSONField(
        null=True, blank=True, help_text="namespaces the token may read in full; null: all that meshview shows"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {','.join(self.scopes)})"

    def has_scope(self, scope: str) -> bool:
        """Return True when the token grants `scope`; `admin` grants every scope."""
        return scope in self.scopes or "admin" in self.scopes


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker ran the beat-scheduled heartbeat task."""

    hostname = models.CharField(max_length=255, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
