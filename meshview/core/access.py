"""What a principal may see: the one namespace rule every read path applies.

A principal is an API token, a session user or an anonymous caller. Each sees the namespaces of
MESHVIEW_ACCESSIBLE_NAMESPACES (unset: all of them); a token issued with namespaces sees only
those among them. Everything of another namespace is hidden: its traces' spans are reduced to
service name and timing, its workloads, operations and upstream hosts are left out, and the
graph draws its nodes inaccessible, without details.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from meshview.core.models import ApiToken
from meshview.mesh.identity import service_from_host


@dataclass(frozen=True)
class NamespaceAccess:
    """The namespaces a principal may read in full; `namespaces` None means every namespace."""

    namespaces: frozenset[str] | None

    @property
    def restricted(self) -> bool:
        return self.namespaces is not None

    def allows(self, namespace: str) -> bool:
        """Whether things of `namespace` may be shown in full."""
        return self.namespaces is None or namespace in self.namespaces

    def allows_host(self, host: str) -> bool:
        """Whether an upstream host may be named: a Kubernetes service host
        (`NAME.NAMESPACE.svc...`) only when its namespace is allowed; other hosts always."""
        if self.namespaces is None:
            return True
        namespace = service_from_host(host.rpartition(":")[0] if host.count(":") == 1 else host).namespace
        return not namespace or namespace in self.namespaces


EVERYTHING = NamespaceAccess(None)


def namespace_access(user: Any, token: ApiToken | None) -> NamespaceAccess:
    """Return what a principal (its session `user`, None or anonymous without one, and its
    bearer `token`, None without one) may see: MESHVIEW_ACCESSIBLE_NAMESPACES, narrowed by the
    token's own namespaces."""
    configured = settings.MESHVIEW_ACCESSIBLE_NAMESPACES
    allowed = None if configured is None else frozenset(configured)
    if token is not None and token.namespaces is not None:
        allowed = frozenset(token.namespaces) if allowed is None else allowed & frozenset(token.namespaces)
    return NamespaceAccess(allowed)


def request_access(request: Any) -> NamespaceAccess:
    """Return what the caller of a request may see: a DRF request, a Django request that
    `require_scope` let through, or a Channels connection scope."""
    if isinstance(request, dict):
        user, token = request.get("user"), request.get("auth")
    else:
        user, token = getattr(request, "user", None), getattr(request, "auth", None)
    return namespace_access(user, token if isinstance(token, ApiToken) else None)
