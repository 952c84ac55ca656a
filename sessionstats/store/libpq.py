"""A small PostgreSQL client on libpq through ctypes: connect, run statements with parameters, COPY in.

It exists for start-up time: a fresh process that records one call must cost next to nothing, and
importing psycopg alone took 150-250 ms here against 8 ms for loading libpq (benchmarks/postgres.py).
libpq itself does everything that matters (authentication, PGPASSWORD and ~/.pgpass, TLS); this
module only passes text in and converts text out, so it pins the settings that text depends on
(encoding, date style, time zone) whatever the database or role defaults to. libpq is the system's
`libpq.so.5`, else the copy the psycopg-binary wheel carries.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import select
import sysconfig
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sessionstats.errors import DatabaseUnusable, NestedTransaction
from sessionstats.store.target import POSTGRES_EXTRA
from sessionstats.validate import check_text

_COMMAND_OK, _TUPLES_OK, _COPY_OUT, _COPY_IN, _COPY_BOTH = 1, 2, 3, 4, 8
_COPYING = (_COPY_OUT, _COPY_IN, _COPY_BOTH)
# What the text this module sends and reads means, whatever the database or the role defaults to
# (a role with `DateStyle 'SQL, DMY'` or `extra_float_digits 0` changed the values read back).
PINNED_SETTINGS = {"DateStyle": "ISO", "TimeZone": "UTC", "IntervalStyle": "postgres", "extra_float_digits": "1"}
_SQLSTATE = ord("C")
_FAILED_TRANSACTION = "25P02"  # in_failed_sql_transaction
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
    raise DatabaseUnusable(POSTGRES_EXTRA + "; writes also find the system's libpq5")


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    pointer, text, number = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    text_array = ctypes.POINTER(ctypes.c_char_p)
    for name, restype, argtypes in [
        ("PQconnectdbParams", pointer, [text_array, text_array, number]),
        ("PQstatus", number, [pointer]), ("PQerrorMessage", text, [pointer]), ("PQfinish", None, [pointer]),
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
        ("PQsendQueryParams", number, [pointer, text, number, pointer, text_array, pointer, pointer, number]),
        ("PQconsumeInput", number, [pointer]), ("PQisBusy", number, [pointer]), ("PQsocket", number, [pointer]),
        ("PQcmdStatus", text, [pointer]), ("PQgetCancel", pointer, [pointer]),
        ("PQparameterStatus", text, [pointer, text]),
        ("PQcancel", number, [pointer, ctypes.c_char_p, number]), ("PQfreeCancel", None, [pointer]),
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


def session_params(params: Mapping[str, str], settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """The connection keywords with UTF-8 and the pinned settings (then `settings`) after any options given.

    Settings sent at connection start override the role's and the database's defaults; libpq reads
    PGOPTIONS only when no `options` keyword is given, so it is carried over here.
    """
    given = params.get("options", os.environ.get("PGOPTIONS", ""))
    pinned = " ".join(f"-c {name}={value}" for name, value in {**PINNED_SETTINGS, **(settings or {})}.items())
    return {**params, "client_encoding": "UTF8", "options": f"{given} {pinned}".strip()}


class Result:
    """The rows of one statement, converted from text by column type, how many rows it changed, and its tag."""

    def __init__(self, rows: list[tuple], rowcount: int, status: str = "") -> None:
        self.rows = rows
        self.rowcount = rowcount
        self.status = status  # the server's command tag: "INSERT 0 1", "COMMIT", "ROLLBACK"

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple]:
        return self.rows


class Connection:
    """One server connection, in autocommit mode unless inside `transaction()`.

    Every statement is sent without blocking in C, so Ctrl-C reaches Python while the server works;
    it (or any other exception while waiting) cancels the statement on the server before it propagates.
    """

    def __init__(self, params: Mapping[str, str], settings: Mapping[str, str] | None = None) -> None:
        self._lib = _libpq()
        pinned = session_params(params, settings)
        self._conn = self._lib.PQconnectdbParams(_strings(list(pinned)), _strings(list(pinned.values())), 0)
        self.in_transaction = False
        if self._lib.PQstatus(self._conn) != 0:
            message = self._message()
            self.close()
            raise ServerError(message)
        self._lib.PQsetNoticeProcessor(self._conn, _IGNORE_NOTICES, None)
        try:
            self._repin()
        except BaseException:
            self.close()
            raise

    def _repin(self) -> None:
        """Set again what libpq's PGDATESTYLE or PGTZ overrode: it sends them after the pinned options."""
        for name, value in PINNED_SETTINGS.items():
            reported = self._lib.PQparameterStatus(self._conn, name.encode())
            if reported is not None and not reported.decode().startswith(value):
                self.execute("SELECT set_config($1, $2, false)", [name, value])

    def execute(self, sql: str, params: Sequence[Any] = (), names: Sequence[str] | None = None) -> Result:
        """Run one statement; `$1`, `$2`, ... take `params` (sent as text, typed by the server).

        `names` name the parameters in the error a value that cannot be sent raises (InvalidInput).
        """
        values = [_parameter(value, names[index] if names else f"parameter ${index + 1}")
                  for index, value in enumerate(params)]
        result = self._run(sql, values)
        try:
            self._check(result, _COMMAND_OK, _TUPLES_OK)
            status = (self._lib.PQcmdStatus(result) or b"").decode()
            return Result(self._rows(result), int(self._lib.PQcmdTuples(result) or 0), status)
        finally:
            self._lib.PQclear(result)

    def copy_in(self, sql: str, chunks: Iterator[bytes]) -> None:
        """Run `COPY ... FROM STDIN` and send it the chunks."""
        self._check_and_clear(self._run(sql, []), _COPY_IN)
        for chunk in chunks:
            if self._lib.PQputCopyData(self._conn, chunk, len(chunk)) != 1:
                raise ServerError(self._message())
        if self._lib.PQputCopyEnd(self._conn, None) != 1:
            raise ServerError(self._message())
        self._check_and_clear(self._await(), _COMMAND_OK)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; one at a time (a nested one is a programming error, as on DuckDB)."""
        if self.in_transaction:
            raise NestedTransaction()
        self.execute("BEGIN")
        self.in_transaction = True
        try:
            yield
        except BaseException:
            self._rollback()
            raise
        finally:
            self.in_transaction = False
        if self.execute("COMMIT").status != "COMMIT":  # a failed statement was swallowed: the server rolled back
            raise ServerError("the server rolled the transaction back instead of committing it, "
                              "because a statement in it had failed; nothing of it was written", _FAILED_TRANSACTION)

    def close(self) -> None:
        if self._conn:
            self._lib.PQfinish(self._conn)
            self._conn = None

    def _run(self, sql: str, values: Sequence[str | None]) -> int:
        """Send one statement and return its result (to be cleared)."""
        sent = self._lib.PQsendQueryParams(self._conn, sql.encode(), len(values), None, _strings(values), None, None, 0)
        if not sent:
            raise ServerError(self._message())
        return self._await()

    def _await(self) -> int:
        """The statement's last result; anything but a server error while waiting cancels it first."""
        try:
            return self._last_result()
        except ServerError:
            raise
        except BaseException:
            self._cancel()
            raise

    def _last_result(self) -> int:
        """Wait for the results as PQexec does and keep the last (a COPY's first, when it starts)."""
        last = 0
        while True:
            self._wait_for_input()
            result = self._lib.PQgetResult(self._conn)
            if not result:
                return last
            if last:
                self._lib.PQclear(last)
            last = result
            if self._lib.PQresultStatus(result) in _COPYING or self._lib.PQstatus(self._conn) != 0:
                return last

    def _wait_for_input(self) -> None:
        """Read until a result is complete; the wait is in Python, where a signal raises (KeyboardInterrupt)."""
        poller = select.poll()
        poller.register(self._lib.PQsocket(self._conn), select.POLLIN)
        while self._lib.PQisBusy(self._conn):
            poller.poll()
            if not self._lib.PQconsumeInput(self._conn):
                raise ServerError(self._message())

    def _cancel(self) -> None:
        """Ask the server to stop the running statement, and read its end so the connection can roll back."""
        cancel = self._lib.PQgetCancel(self._conn)
        if cancel:
            reason = ctypes.create_string_buffer(256)
            self._lib.PQcancel(cancel, reason, len(reason))
            self._lib.PQfreeCancel(cancel)
        with contextlib.suppress(ServerError):
            if result := self._last_result():
                self._lib.PQclear(result)

    def _rollback(self) -> None:
        with contextlib.suppress(ServerError):  # the connection is gone: the server rolls back on its own
            self.execute("ROLLBACK")

    def _rows(self, result: int) -> list[tuple]:
        lib = self._lib
        fields = lib.PQnfields(result)
        converters = [_CONVERTERS.get(lib.PQftype(result, column), str) for column in range(fields)]
        return [
            tuple(None if lib.PQgetisnull(result, row, column) else
                  _converted(converters[column], lib.PQgetvalue(result, row, column).decode())
                  for column in range(fields))
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


def _converted(converter: Any, text: str) -> Any:
    """The Python value of one field; one Python has no value for ('infinity', a year BC) is a ServerError."""
    try:
        return converter(text)
    except ValueError:
        raise ServerError(f"the server sent {text!r}, which has no Python value of its type") from None


def _strings(values: Sequence[str | None]) -> Any:
    array = (ctypes.c_char_p * (len(values) + 1))()
    array[:len(values)] = [None if value is None else value.encode() for value in values]
    return array


def _parameter(value: Any, name: str) -> str | None:
    """A value as the text the server reads; text libpq would cut short (at a NUL) is refused."""
    if value is None:
        return None
    return check_text(_text(value), name)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):  # the columns are UTC without a zone: the server would drop an offset
        utc = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return utc.isoformat(sep=" ")
    return str(value)
