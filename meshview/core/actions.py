"""Write paths of the core domain."""

import secrets

from django.utils import timezone

from meshview.core.models import SCOPES, ApiToken, WorkerHeartbeat, hash_token


def issue_token(name: str, scopes: list[str], namespaces: list[str] | None = None) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown only this once.

    `namespaces` limits what the token reads in full (None: everything meshview shows). Raises
    ValueError for an unknown scope or a name already taken.
    """
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}; got {scopes}")
    if ApiToken.objects.filter(name=name).exists():
        raise ValueError(f"a token named {name!r} exists already")
    raw = "mv_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name,
        key_hash=hash_token(raw),
        prefix=raw[:10],
        scopes=sorted(set(scopes)),
        namespaces=sorted(set(namespaces)) if namespaces is not None else None,
    )
    return token, raw


def record_heartbeat(hostname: str) -> None:
    """Note that the worker on `hostname` is alive now."""
    WorkerHeartbeat.objects.update_or_create(hostname=hostname, defaults={"seen_at": timezone.now()})
