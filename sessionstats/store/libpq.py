"""A small PostgreSQL client on libpq through ctypes: connect, run statements with parameters, COPY in.

It exists for start-up time: a fresh process that records one call must cost next to nothing, and
importing psycopg alone took 150-250 ms here against 8 ms for loading libpq (benchmarks/postgres.py).
libpq itself does everything that matters (authentication, PGPASSWORD and ~/.pgpass, TLS); this
module only passes text in and converts text out. libpq is the system's `libpq.so.5`, else the copy
the psycopg-binary wheel carries.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import sysconfig
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from sessionstats.errors import DatabaseUnusable

_COMMAND_OK, _TUPLES_OK, _COPY_IN = 1, 2, 4
_SQLSTATE = ord("C")
_CONVERTERS = {16: lambda text: text == "t", 20: int, 21: int, 23: int, 26: int, 700: float, 701: float,
               1700: Decimal, 1114: datetime.fromisoformat, 1184: datetime.fromisoformat}


class ServerError(Exception):
    """An error the server or libpq reported; `sqlstate` is empty when the connection itself failed."""

    def __init__(self, message: str, sqlstate: str = "") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class _ConninfoOption(ctypes.Structure):
    _fields_ = [("keyword", ctypes.c_char_p), ("envvar", ctypes.c_char_p), ("compiled", ctypes.c_char_p),
                ("val", ctypes.c_char_p), ("label", ctypes.c_char_p), ("dispchar", ctypes.c_char_p),
                ("dispsize", ctypes.c_int)]


_NOTICE_PROCESSOR = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
_IGNORE_NOTICES = _NOTICE_PROCESSOR(lambda _arg, _message: None)  # the server's notices are not for the person
_lib: ctypes.CDLL | None = None


def _libpq() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        _lib = _declare(_load())
    return _lib


def _load() -> ctypes.CDLL:
    bundled = glob.glob(os.path.join(sysconfig.get_paths()["purelib"], "psycopg_binary.libs", "libpq-*.so*"))
    for name in ["libpq.so.5", *bundled]:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise DatabaseUnusable("cannot find libpq, which a PostgreSQL --db needs: install libpq5 "
                           "(or the psycopg-binary package, which carries a copy)")


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    pointer, text, number = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    text_array = ctypes.POINTER(ctypes.c_char_p)
    for name, restype, argtypes in [
        ("PQconnectdbParams", pointer, [text_array, text_array, number]),
        ("PQstatus", number, [pointer]), ("PQerrorMessage", text, [pointer]), ("PQfinish", None, [pointer]),
        ("PQexecParams", pointer, [pointer, text, number, pointer, text_array, pointer, pointer, number]),
        ("PQresultStatus", number, [pointer]), ("PQresultErrorMessage", text, [pointer]),
        ("PQresultErrorField", text, [pointer, number]), ("PQclear", None, [pointer]),
        ("PQntuples", number, [pointer]), ("PQnfields", number, [pointer]),
        ("PQftype", ctypes.c_uint, [pointer, number]),
        ("PQgetisnull", number, [pointer, number, number]), ("PQgetvalue", text, [pointer, number, number]),
        ("PQcmdTuples", text, [pointer]), ("PQgetResult", pointer, [pointer]),
        ("PQputCopyData", number, [pointer, text, number]), ("PQputCopyEnd", number, [pointer, text]),
        ("PQconninfoParse", ctypes.POINTER(_ConninfoOption), [text, ctypes.POINTER(ctypes.c_char_p)]),
        ("PQconninfoFree", None, [ctypes.POINTER(_ConninfoOption)]), ("PQfreemem", None, [pointer]),
        ("PQsetNoticeProcessor", pointer, [pointer, _NOTICE_PROCESSOR, pointer]),
    ]:
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    return lib


def parse_conninfo(conninfo: str) -> dict[str, str]:
    """libpq's own reading of a URL or `key=value` string: the keywords it sets."""
    lib = _libpq()
    error = ctypes.c_char_p()
    options = lib.PQconninfoParse(conninfo.encode(), ctypes.byref(error))
    if not options:
        if error.value:
            lib.PQfreemem(error)
        raise ServerError("not a connection string")
    try:
        found, index = {}, 0
        while options[index].keyword:
            if options[index].val is not None:
                found[options[index].keyword.decode()] = options[index].val.decode()
            index += 1
        return found
    finally:
        lib.PQconninfoFree(options)


class Result:
    """The rows of one statement, converted from text by column type, and how many rows it changed."""

    def __init__(self, rows: list[tuple], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple]:
        return self.rows


class Connection:
    """One server connection, in autocommit mode unless inside `transaction()`."""

    def __init__(self, params: dict[str, str]) -> None:
        self._lib = _libpq()
        keys, values = list(params), list(params.values())
        self._conn = self._lib.PQconnectdbParams(_strings(keys), _strings(values), 0)
        self._depth = 0
        if self._lib.PQstatus(self._conn) != 0:
            message = self._message()
            self.close()
            raise ServerError(message)
        self._lib.PQsetNoticeProcessor(self._conn, _IGNORE_NOTICES, None)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement; `$1`, `$2`, ... take `params` (sent as text, typed by the server)."""
        values = [None if value is None else _text(value) for value in params]
        result = self._lib.PQexecParams(self._conn, sql.encode(), len(values), None, _strings(values), None, None, 0)
        try:
            self._check(result, _COMMAND_OK, _TUPLES_OK)
            return Result(self._rows(result), int(self._lib.PQcmdTuples(result) or 0))
        finally:
            self._lib.PQclear(result)

    def copy_in(self, sql: str, chunks: Iterator[bytes]) -> None:
        """Run `COPY ... FROM STDIN` and send it the chunks."""
        self._check_and_clear(self._lib.PQexecParams(self._conn, sql.encode(), 0, None, None, None, None, 0), _COPY_IN)
        for chunk in chunks:
            if self._lib.PQputCopyData(self._conn, chunk, len(chunk)) != 1:
                raise ServerError(self._message())
        if self._lib.PQputCopyEnd(self._conn, None) != 1:
            raise ServerError(self._message())
        while result := self._lib.PQgetResult(self._conn):
            self._check_and_clear(result, _COMMAND_OK)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; an inner one joins the outer."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.execute("BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._rollback()
            raise
        self._depth = 0
        self.execute("COMMIT")

    def close(self) -> None:
        if self._conn:
            self._lib.PQfinish(self._conn)
            self._conn = None

    def _rollback(self) -> None:
        with contextlib.suppress(ServerError):  # the connection is gone: the server rolls back on its own
            self.execute("ROLLBACK")

    def _rows(self, result: int) -> list[tuple]:
        lib = self._lib
        fields = lib.PQnfields(result)
        converters = [_CONVERTERS.get(lib.PQftype(result, column), str) for column in range(fields)]
        return [
            tuple(None if lib.PQgetisnull(result, row, column) else
                  converters[column](lib.PQgetvalue(result, row, column).decode()) for column in range(fields))
            for row in range(lib.PQntuples(result))
        ]

    def _check(self, result: int | None, *expected: int) -> None:
        if not result:
            raise ServerError(self._message())
        if self._lib.PQresultStatus(result) not in expected:
            sqlstate = (self._lib.PQresultErrorField(result, _SQLSTATE) or b"").decode()
            message = (self._lib.PQresultErrorMessage(result) or b"").decode().strip() or self._message()
            raise ServerError(message.removeprefix("ERROR:").strip(), sqlstate)

    def _check_and_clear(self, result: int | None, *expected: int) -> None:
        try:
            self._check(result, *expected)
        finally:
            if result:
                self._lib.PQclear(result)

    def _message(self) -> str:
        raw = self._lib.PQerrorMessage(self._conn) if self._conn else b""
        return (raw or b"").decode(errors="replace").strip() or "the connection failed"


def _strings(values: Sequence[str | None]) -> Any:
    array = (ctypes.c_char_p * (len(values) + 1))()
    array[:len(values)] = [None if value is None else value.encode() for value in values]
    return array


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)
