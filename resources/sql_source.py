"""SQL databases through a SQLAlchemy URL: PostgreSQL, MySQL/MariaDB, SQLite, and any
warehouse with a SQLAlchemy dialect. Rows are read in batches and assembled into Arrow.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
from pydantic import Field

from synthpipe.errors import SourceError
from synthpipe.resources.sources import SourceResource, _not_found, _require_rows, signature

__all__ = ["SqlSource"]

_DRIVER_EXTRAS = {
    "postgresql": "pip install 'synthpipe[postgres]'  (psycopg2; use a postgresql+psycopg2:// URL)",
    "mysql": "pip install 'synthpipe[mysql]'  (PyMySQL; use a mysql+pymysql:// URL)",
    "mariadb": "pip install 'synthpipe[mysql]'  (PyMySQL; use a mariadb+pymysql:// URL)",
}


class SqlSource(SourceResource):
    """Reads tables from any database SQLAlchemy can reach.

    Examples:
        >>> SqlSource(url=dg.EnvVar("WAREHOUSE_URL"), db_schema="sales")  # doctest: +SKIP
    """

    url: str = Field(
        description="SQLAlchemy URL, e.g. postgresql+psycopg2://reader@db:5432/prod. Give one that "
        "carries a password as {env: NAME}, so it is read from the environment at run time."
    )
    db_schema: str | None = Field(default=None, description="Database schema holding the tables; default: the connection's.")
    connect_timeout_s: int = Field(default=10, ge=1, description="Seconds to wait for a connection.")
    batch_rows: int = Field(default=50_000, ge=1, description="Rows fetched per round trip.")

    def _safe_url(self) -> str:
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:  # an unparsable URL: show only its scheme
            return self.url.split("://", 1)[0] + "://..."

    def _engine(self) -> Any:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            url = make_url(self.url)
        except ArgumentError:
            raise SourceError(
                f"`source.url` {self._safe_url()!r} is not a SQLAlchemy URL; expected e.g. "
                "postgresql+psycopg2://user@host:5432/database or sqlite:///path/to/file.db."
            ) from None
        backend = url.get_backend_name()
        connect_args = {} if backend == "sqlite" else {"connect_timeout": self.connect_timeout_s}
        try:
            return create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        except (NoSuchModuleError, ModuleNotFoundError) as error:
            install = _DRIVER_EXTRAS.get(backend, f"pip install the SQLAlchemy dialect and DB-API driver for {backend!r}")
            raise SourceError(
                f"No database driver for {url.drivername!r} ({error}). Install it: {install}, "
                f"or install the driver that {url.drivername!r} names."
            ) from None

    @contextmanager
    def connect(self) -> Iterator[Any]:
        from sqlalchemy.exc import DBAPIError

        engine = self._engine()
        try:
            with engine.connect() as connection:
                yield connection
        except DBAPIError as error:
            if error.connection_invalidated or _is_connect_error(error):
                reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
                raise SourceError(
                    f"Cannot connect to the source database {self._safe_url()!r}: {reason}. Check `source.url` "
                    "(or the environment variable it names): host, port, user, password and database, and that "
                    "the server is running and reachable."
                ) from None
            raise
        finally:
            engine.dispose()

    def read_table(self, table: str, *, query: str | None = None, limit: int | None = None) -> pa.Table:
        import sqlalchemy as sa
        from sqlalchemy.exc import DBAPIError

        where = f"database {self._safe_url()!r}" + (f" schema {self.db_schema!r}" if self.db_schema else "")
        with self.connect() as connection:
            if query is None:
                available = sorted(sa.inspect(connection).get_table_names(schema=self.db_schema))
                if table not in available:
                    raise _not_found(table, where, available)
            statement = self._select(table, query, limit)
            declared = self._declared_types(connection, table) if query is None else {}
            try:
                result = connection.execution_options(stream_results=True).execute(statement)
                arrow = _fetch_arrow(result, self.batch_rows, declared)
            except DBAPIError as error:
                reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
                raise SourceError(f"Table {table!r}: reading from {where} failed: {reason}. Check `source_table` or `query`.") from None
        return _require_rows(arrow, table, where)

    def describe(self) -> str:
        return self._safe_url()

    def _declared_types(self, connection: Any, table: str) -> dict[str, pa.DataType]:
        """The Arrow type of each column as the database declares it (`arrow_type`), so that
        `NUMERIC(18,4)` keeps its precision and an all-empty column its type; rows of a `query`
        have no declaration, and their types are read from the values."""
        import sqlalchemy as sa

        columns = sa.inspect(connection).get_columns(table, schema=self.db_schema)
        return {c["name"]: kind for c in columns if (kind := arrow_type(c["type"])) is not None}

    def _select(self, table: str, query: str | None, limit: int | None) -> Any:
        """SELECT * of the table (its name quoted by SQLAlchemy as an identifier, never pasted into
        SQL) or of `query`, capped at `limit` rows.
        """
        import sqlalchemy as sa

        source = sa.table(table, schema=self.db_schema) if query is None else sa.text(query).columns().subquery("synthpipe_read")
        statement = sa.select(sa.text("*")).select_from(source)
        return statement if limit is None else statement.limit(limit)

    def probe(self, table: str, *, query: str | None = None, limit: int | None = None) -> str | None:
        """On PostgreSQL: row count and the sum of the rows' md5 (order-independent), plus the
        schema. Other databases have no portable row hash: None, and the caller fingerprints a read.
        """
        import sqlalchemy as sa
        from sqlalchemy.exc import DBAPIError

        with self.connect() as connection:
            if connection.dialect.name != "postgresql":
                return None
            rows = self._select(table, query, limit).subquery("p")
            aggregate = sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(sa.text("('x' || substr(md5(p::text), 1, 15))::bit(60)::bigint")), 0),
            ).select_from(rows)
            try:
                columns = connection.execute(sa.select(rows).limit(0)).cursor.description
                count, total = connection.execute(aggregate).one()
            except DBAPIError as error:
                reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
                raise SourceError(f"Table {table!r}: probing {self._safe_url()!r} failed: {reason}. Check `source_table` or `query`.") from None
        return signature([(c[0], str(c[1])) for c in columns], count, int(total))


def _is_connect_error(error: Exception) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(error, (OperationalError, InterfaceError))


def arrow_type(declared: Any) -> pa.DataType | None:
    """The Arrow type of a SQLAlchemy column type, or None to read it from the values.

    Examples:
        >>> import sqlalchemy as sa
        >>> arrow_type(sa.Numeric(18, 4))
        Decimal128Type(decimal128(18, 4))
    """
    import sqlalchemy as sa

    if isinstance(declared, sa.Boolean):
        return pa.bool_()
    if isinstance(declared, sa.SmallInteger):
        return pa.int16()
    if isinstance(declared, sa.BigInteger):
        return pa.int64()
    if isinstance(declared, sa.Integer):
        return pa.int32()
    if isinstance(declared, sa.REAL):
        return pa.float32()
    if isinstance(declared, sa.Float):
        return pa.float64()
    if isinstance(declared, sa.Numeric):
        precision, scale = declared.precision, declared.scale or 0
        return pa.decimal128(precision, scale) if precision and precision <= 38 else None
    if isinstance(declared, sa.DateTime):
        return pa.timestamp("us", tz="UTC" if declared.timezone else None)
    if isinstance(declared, sa.Date):
        return pa.date32()
    if isinstance(declared, (sa.String, sa.Enum)):
        return pa.string()
    return None


def _fetch_arrow(result: Any, batch_rows: int, declared: dict[str, pa.DataType] | None = None) -> pa.Table:
    """The result as Arrow, one fetched batch at a time: only `batch_rows` rows are ever Python
    objects. A column whose type is read from the values (a `query`, SQLite) may read
    differently in two batches (all empty in one, numbers in the next; integers, then
    decimals); the batches are unified to the wider type."""
    names = list(result.keys())
    batches = []
    while rows := result.fetchmany(batch_rows):
        columns = zip(*rows, strict=True)
        batches.append(pa.table([_array(list(values), (declared or {}).get(name)) for name, values in zip(names, columns, strict=True)], names=names))
    if not batches:
        return pa.table([_array([], (declared or {}).get(name)) for name in names], names=names)
    return pa.concat_tables(batches, promote_options="permissive")


def _array(values: list[Any], declared: pa.DataType | None) -> pa.Array:
    """The column as its declared type; read from the values when they do not fit it (SQLite
    stores any value in any column)."""
    if declared is not None:
        try:
            return pa.array(values, type=declared)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass
    return pa.array(values)
