"""Reading an ingest request body within a size limit, after decompression too."""

import zlib

from django.http import HttpRequest

_CHUNK = 64 * 1024


class BodyError(Exception):
    """A body meshview refuses; `status` is the HTTP status to answer (400, 413 or 415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_body(request: HttpRequest, limit: int) -> bytes:
    """Return the request body, gunzipped when `Content-Encoding: gzip`; raise BodyError (413)
    when it is, or inflates to, more than `limit` bytes, and (400/415) when it cannot be read."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"body of {declared} bytes is over the limit of {limit} bytes")
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise BodyError(413, f"body is over the limit of {limit} bytes")
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise BodyError(415, f"unsupported Content-Encoding {encoding!r} (use gzip or none)")
    return gunzip(raw, limit)


def gunzip(data: bytes, limit: int) -> bytes:
    """Inflate gzip `data` a chunk at a time, refusing (413) past `limit` bytes: a small
    compressed body must not be able to exhaust memory."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = bytearray()
    try:
        pending = data
        while True:
            piece = inflater.decompress(pending, _CHUNK)
            out += piece
            if len(out) > limit:
                raise BodyError(413, f"body inflates to more than the limit of {limit} bytes")
            pending = inflater.unconsumed_tail
            if inflater.eof or (not pending and not piece):
                break
    except zlib.error as exc:
        raise BodyError(400, f"invalid gzip body: {exc}") from None
    if not inflater.eof:
        raise BodyError(400, "invalid gzip body: truncated")
    return bytes(out)
