"""One HTTP POST to a receiver, with the guards a server that calls user-given URLs needs.

The host is resolved here and every address it resolves to is checked before connecting, and
the connection goes to the address that was checked (a second lookup could answer otherwise:
DNS rebinding). Loopback, link-local, private, multicast and other special addresses are refused
unless private targets are allowed. Only 307 and 308 redirects are followed (they keep the POST),
each target checked again. The answer is read up to a size cap, within the receiver's timeout.
No Django here.
"""

import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import urllib3

MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_CHARS = 1024
MAX_REDIRECTS = 3
USER_AGENT = "meshview-alerts/1"


class Refused(Exception):
    """The URL may not be called: the message says why."""


def refusal(address: str) -> str | None:
    """Why meshview refuses to call `address`, None when it is a public unicast address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, reason in (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not globally routable"),
    ):
        if test:
            return f"{address} is a {reason} address"
    return None


def resolve(url: str, allow_private: bool) -> tuple[str, str, int, str]:
    """Return (scheme, host, port, address to connect to) for `url`; raise Refused for a URL
    that is not http(s), a host that does not resolve, or one that resolves to a refused address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"{url!r} is not an http or https URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused(f"{url!r} has a bad port") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Refused(f"{parts.hostname} does not resolve: {exc.strerror}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                raise Refused(f"{parts.hostname} resolves to {reason} (set MESHVIEW_WEBHOOK_ALLOW_PRIVATE=1 to allow)")
    return parts.scheme, parts.hostname, port, addresses[0]


@dataclass(frozen=True, slots=True)
class Answer:
    """What came of one POST: the status (None when no answer came), how long it took, the
    start of the body, Retry-After in seconds, and the error when there was no answer."""

    status: int | None
    latency_ms: float
    excerpt: str = ""
    retry_after: float | None = None
    error: str = ""
    refused: bool = False


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds a `Retry-After` header asks to wait (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float, allow_private: bool) -> Answer:
    """POST `body` to `url`; never raises for network trouble, which comes back in the Answer."""
    started = time.monotonic()

    def elapsed() -> float:
        return round((time.monotonic() - started) * 1000, 1)

    for _ in range(MAX_REDIRECTS + 1):
        try:
            scheme, host, port, address = resolve(url, allow_private)
        except Refused as exc:
            return Answer(None, elapsed(), error=str(exc), refused=True)
        try:
            status, location, excerpt, wait = _send(scheme, host, port, address, url, body, headers, timeout)
        except urllib3.exceptions.HTTPError as exc:
            return Answer(None, elapsed(), error=_describe(exc, timeout))
        except OSError as exc:
            return Answer(None, elapsed(), error=f"{type(exc).__name__}: {exc}")
        if status in (307, 308) and location:
            url = urljoin(url, location)
            continue
        return Answer(status, elapsed(), excerpt=excerpt, retry_after=wait)
    return Answer(None, elapsed(), error=f"more than {MAX_REDIRECTS} redirects", refused=True)


def _send(
    scheme: str, host: str, port: int, address: str, url: str, body: bytes, headers: Mapping[str, str], timeout: float
) -> tuple[int, str | None, str, float | None]:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if scheme == "https" else 80
    host_header = (f"[{host}]" if ":" in host else host) + ("" if port == default_port else f":{port}")
    pool: urllib3.HTTPConnectionPool
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, port, timeout=limits, retries=False, maxsize=1, server_hostname=host, assert_hostname=host
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=limits, retries=False, maxsize=1)
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={
                "Host": host_header,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **headers,
            },
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            data = response.read(MAX_RESPONSE_BYTES)
        finally:
            response.release_conn()
        excerpt = data[:EXCERPT_CHARS].decode("utf-8", errors="replace")
        return (
            response.status,
            response.headers.get("Location"),
            excerpt,
            retry_after(response.headers.get("Retry-After"), time.time()),
        )
    finally:
        pool.close()


def _describe(exc: Exception, timeout: float) -> str:
    if isinstance(exc, urllib3.exceptions.TimeoutError | urllib3.exceptions.ReadTimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return f"cannot connect: {exc}"
    return f"{type(exc).__name__}: {exc}"


# The longest wait between two attempts, whatever Retry-After asks.
MAX_BACKOFF_S = 3600.0


def verdict(answer: Answer, attempt: int, max_attempts: int, base_s: float) -> tuple[str, float | None]:
    """Return the outcome of an attempt (`delivered`, `retry`, `failed`, `refused`) and, for a
    retry, the seconds to wait: Retry-After when the receiver sent one, else `base_s` doubled
    with each attempt. Timeouts, connection errors, 429 and 5xx are retried until `max_attempts`;
    other answers (4xx, redirects that cannot be followed) are final."""
    if answer.refused:
        return "refused", None
    if answer.status is not None and 200 <= answer.status < 300:
        return "delivered", None
    transient = answer.status is None or answer.status == 429 or answer.status >= 500
    if not transient or attempt >= max_attempts:
        return "failed", None
    wait = answer.retry_after if answer.retry_after is not None else base_s * 2 ** (attempt - 1)
    return "retry", min(wait, MAX_BACKOFF_S)
