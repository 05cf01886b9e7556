"""The demo mesh that `serve --demo` feeds meshview with: a Bookinfo-like topology
(`topology`), the requests that cross it with coherent timing (`traffic`), their access logs and
spans (`render`), and the loop that posts them to meshview's ingest endpoints (`feed`)."""
