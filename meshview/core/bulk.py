"""Writing many rows at once, past Django's cursor where that is faster: psycopg's COPY on
PostgreSQL, sqlite3's own placeholders on SQLite. Errors still become Django's DatabaseError."""

from collections.abc import Sequence

from django.db import connection, transaction

_SQLITE_VARIABLES = 30000  # bound values per statement, under SQLite's limit


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


def insert_rows(
    table: str, columns: Sequence[str], rows: Sequence[tuple], conflict: str, ordered_by: Sequence[str] = ()
) -> list[tuple]:
    """Insert `rows` into `table` with `conflict` (an ``ON CONFLICT ...`` clause, with a
    ``RETURNING`` list when the caller wants rows back, which are returned). On PostgreSQL the
    rows go with COPY into a temporary table and from there into `table` in one statement,
    ordered by `ordered_by` (so concurrent writers lock rows in one order); on SQLite in
    multi-row INSERTs with sqlite3's own placeholders (Django's cursor would rewrite thousands
    of them). `table`, `columns` and `conflict` are constant SQL, never input."""
    if not rows:
        return []
    names = ", ".join(columns)
    returned: list[tuple] = []
    if connection.vendor == "postgresql":
        incoming = f"{table}_incoming"
        order = f"ORDER BY {', '.join(ordered_by)} " if ordered_by else ""
        # In a transaction (the caller's, else its own): the temporary table empties at commit.
        with (
            transaction.atomic(savepoint=False),
            connection.wrap_database_errors,
            connection.connection.cursor() as cursor,
        ):
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {incoming} ON COMMIT DELETE ROWS AS "  # noqa: S608
                f"SELECT {names} FROM {table} WITH NO DATA"
            )
            with cursor.copy(f"COPY {incoming} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {incoming} {order}{conflict}")  # noqa: S608
            if cursor.description is not None:
                returned = cursor.fetchall()
            cursor.execute(f"TRUNCATE {incoming}")
        return returned
    placeholders = "(" + ", ".join(["?"] * len(columns)) + ")"
    per_statement = max(1, _SQLITE_VARIABLES // len(columns))
    cursor = connection.connection.cursor()  # inside the caller's transaction, if any
    try:
        with connection.wrap_database_errors:
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                cursor.execute(
                    f"INSERT INTO {table} ({names}) VALUES {', '.join([placeholders] * len(chunk))} {conflict}",  # noqa: S608
                    [value for row in chunk for value in row],
                )
                if cursor.description is not None:
                    returned += cursor.fetchall()
    finally:
        cursor.close()
    return returned
