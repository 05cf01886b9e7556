"""Appending many rows at once, past Django's cursor where that is faster: psycopg's COPY on
PostgreSQL, one executemany on SQLite. Errors still become Django's DatabaseError."""

from collections.abc import Sequence

from django.db import connection


def append_rows(table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Append `rows` (values in `columns` order) to `table`, a constant identifier."""
    if not rows:
        return
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
