"""The outcome store: one SQLite file (WAL) per project holding benches, queries, responses,
grades, the request cache and the embedding cache.

Why SQLite: one file, no server, safe for several writer processes (WAL + ``BEGIN IMMEDIATE``
with a busy timeout), and fast enough to load a 400k-cell outcome matrix in well under a second
because rows are addressed by small integers (bench id, query index, model index).

Every multi-row write runs in one transaction: an import or a batch is all-or-nothing, and a
failed write never loses what was stored before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import operator
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from routerbench_core.processes import pid_alive
from routerbench_core.words import did_you_mean

if TYPE_CHECKING:  # numpy and the pydantic models are imported where they are used, so that
    # `rbench data info` (a header read and a few queries) pays for neither
    import numpy as np

    from routerbench_core.data.matrix import OutcomeMatrix
    from routerbench_core.schema import Grade, ModelSpec, Query, Response

#: 3: answers may be stored zstd-packed (BLOBs in ``responses.raw_output``, dictionaries in
#: ``meta`` rows ``text_dict:<id>``; see ``data/textpack.py``), and ``meta`` rows
#: ``bench_version:<id>`` version each bench for the matrix cache. Migrating from 2 changes
#: nothing stored: a version-2 store has no packed values and gains versions on its next write.
#: 4: imports store long answers in zstd blocks of many (table ``text_blocks``; the answer's
#: column holds a 20-byte reference), and ``responses`` has no second index (the covering
#: index of version 3 cost an import a second B-tree; the matrix cache serves routes, and a
#: scan of the table read a 400k-response bench of inline answers in the same 1.4-1.7 s).
#: Migrating from 3 adds the table, drops the index and rewrites nothing.
SCHEMA_VERSION = 4
#: Benches being imported are written under this prefix (a name users cannot give: it holds a
#: '/'), invisible to ``bench_names``, and renamed to their real name in one transaction.
STAGING_PREFIX = ".importing/"
DEFAULT_STORE = "rbench.db"
#: Page cache (KiB) and WAL checkpoint interval (pages) of a bulk import (see
#: ``Store._bulk_settings``).
BULK_CACHE_KIB = 8_192
BULK_CHECKPOINT_PAGES = 10_000
_QM = operator.itemgetter(0, 1)
#: Row layouts of the matrix queries (``numpy.dtype`` specs, built when a matrix is loaded).
_RESPONSE_FIELDS = [("cell", "i8"), ("cost", "f8"), ("pt", "f8"), ("ct", "f8"),
                    ("lat", "f8"), ("flags", "i8")]
_GRADE_FIELDS = [("cell", "i8"), ("score", "f8"), ("null", "?")]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS benches (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    source TEXT,
    created_at REAL NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS models (
    bench_id INTEGER NOT NULL REFERENCES benches(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    PRIMARY KEY (bench_id, idx),
    UNIQUE (bench_id, name)
);
CREATE TABLE IF NOT EXISTS queries (
    bench_id INTEGER NOT NULL REFERENCES benches(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    key TEXT NOT NULL,
    dataset TEXT NOT NULL,
    qid TEXT NOT NULL,
    text TEXT NOT NULL,
    messages TEXT,
    ground_truth TEXT,
    source_split TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (bench_id, idx),
    UNIQUE (bench_id, key)
);
CREATE TABLE IF NOT EXISTS responses (
    bench_id INTEGER NOT NULL,
    q INTEGER NOT NULL,
    m INTEGER NOT NULL,
    raw_output TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    reasoning_tokens INTEGER,
    cached_tokens INTEGER,
    cost REAL,
    cost_source TEXT,
    latency REAL,
    error TEXT,
    request_hash TEXT,
    created_at REAL NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (bench_id, q, m)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS grades (
    bench_id INTEGER NOT NULL,
    q INTEGER NOT NULL,
    m INTEGER NOT NULL,
    score REAL,
    prediction TEXT,
    grader TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    PRIMARY KEY (bench_id, q, m)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS request_cache (
    hash TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS embeddings (
    embedder TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (embedder, text_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
    hash TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
-- Long answers of an import, many per zstd frame (see data/textpack.py). A rowid table: its
-- rows are large, and WITHOUT ROWID suits only small ones.
CREATE TABLE IF NOT EXISTS text_blocks (
    bench_id INTEGER NOT NULL,
    no INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (bench_id, no)
);
"""

#: Statements that bring a store of version ``n - 1`` to version ``n`` (``rbench data
#: migrate`` runs them, never a plain open).
_MIGRATIONS: dict[int, list[str]] = {
    2: ["CREATE TABLE IF NOT EXISTS leases (hash TEXT PRIMARY KEY, owner TEXT NOT NULL, "
        "expires_at REAL NOT NULL) WITHOUT ROWID"],
    3: [],
    4: ["CREATE TABLE IF NOT EXISTS text_blocks (bench_id INTEGER NOT NULL, no INTEGER NOT NULL, "
        "data BLOB NOT NULL, PRIMARY KEY (bench_id, no))",
        "DROP INDEX IF EXISTS responses_outcomes"],
}
_MIGRATION_NOTES = {2: "add the leases table (concurrent collectors claim requests there)",
                    3: "allow zstd-packed answers and bench versions (nothing to rewrite)",
                    4: "add the text_blocks table (imports store answers in blocks) and drop "
                       "the responses_outcomes index (the matrix cache serves routes; nothing "
                       "to rewrite)"}

#: The columns of a response row and a grade row after ``(bench_id, q, m)``, in table order
#: (importers' rows hold them in this order, or a subset of them: ``RowLayout``).
RESPONSE_ROW = ("raw_output", "prompt_tokens", "completion_tokens", "reasoning_tokens",
                "cached_tokens", "cost", "cost_source", "latency", "error", "request_hash",
                "created_at", "metadata")
GRADE_ROW = ("score", "prediction", "grader", "grader_version", "details", "created_at")
_RESPONSE_COLUMNS = ", ".join(RESPONSE_ROW)


class StoreError(RuntimeError):
    """A problem with the store the user can act on (unknown bench, existing bench, ...)."""


@dataclass(frozen=True)
class BenchSummary:
    name: str
    source: str | None
    created_at: float
    n_queries: int
    n_models: int
    n_responses: int
    n_failures: int
    n_grades: int
    metadata: dict[str, Any]


@dataclass(frozen=True)
class CachedCall:
    """One successful model call to remember: the request hash it answers, who answered, what
    was asked (kept for auditing) and the answer."""

    hash: str
    backend: str
    model: str
    request: dict[str, Any]
    response: Response


class QueryRow(NamedTuple):
    idx: int
    key: str
    dataset: str
    qid: str
    text: str
    messages: str | None
    ground_truth: str | None
    source_split: str | None
    metadata: str


class ResponseRow(NamedTuple):
    q: int
    m: int
    query_key: str
    model: str
    raw_output: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    cached_tokens: int | None
    cost: float | None
    cost_source: str | None
    latency: float | None
    error: str | None
    request_hash: str | None
    created_at: float
    metadata: str


class GradeRow(NamedTuple):
    q: int
    m: int
    query_key: str
    model: str
    score: float | None
    prediction: str | None
    grader: str
    grader_version: str
    details: str
    created_at: float


def default_store_path() -> Path:
    """``$RBENCH_STORE`` if set, else ``./rbench.db``."""
    return Path(os.environ.get("RBENCH_STORE") or DEFAULT_STORE)


def matrix_sql(n_sources: int, n_models: int) -> str:
    """The outcome-matrix query over ``responses`` (parameters: the ``n_sources`` distinct cost
    sources, then the bench id): one range scan of the clustered table (a test checks the
    plan); imported answers are 20-byte block references, so the rows it reads are narrow.

    Few columns means few Python objects per row: the cell is ``q * n_models + m`` (a flat
    index into the grid), and one ``flags`` integer packs the NULL bits of cost, prompt
    tokens, completion tokens and latency (bits 0-3), the failure bit (4) and the cost-source
    code + 1 (bits 5+; 0 = none).
    """
    case = "".join(f" WHEN ? THEN {i + 1}" for i in range(n_sources))
    case = f"(CASE cost_source{case} ELSE 0 END)" if n_sources else "0"
    # SQLite's | and << share one precedence level: every shift is parenthesised
    return (
        f"SELECT q * {int(n_models)} + m, IFNULL(cost, 0), IFNULL(prompt_tokens, 0), "
        "IFNULL(completion_tokens, 0), IFNULL(latency, 0), "
        "(cost IS NULL) | ((prompt_tokens IS NULL) << 1) | ((completion_tokens IS NULL) << 2) "
        f"| ((latency IS NULL) << 3) | ((error IS NOT NULL) << 4) | ({case} << 5) "
        "FROM responses WHERE bench_id=?"
    )


def _version_key(bench_id: int) -> str:
    return f"bench_version:{int(bench_id)}"


def validate_bench_name(name: str) -> None:
    """Refuse names that cannot round-trip through paths and command lines."""
    if (not name or name in (".", "..") or any(c in name for c in "/\\")
            or any(ord(c) < 32 for c in name)):
        raise StoreError(f"invalid bench name {name!r}: use letters, digits, '-', '_' or '.'")


def text_hash(text: str) -> str:
    """The hash used to key cached embeddings and detect duplicate prompts."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _cached_json(response: Response) -> str:
    """A response as the cache keeps it: everything but what identifies the asker."""
    from routerbench_core.data.text import clean_text

    return clean_text(response).model_dump_json(exclude={"query_key", "model", "request_hash"})


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _uri_path(path: Path) -> str:
    from urllib.parse import quote

    return quote(str(path.resolve()))


def _check_store_file(path: Path, *, create: bool) -> bool:
    """Check ``path`` before SQLite touches it; True when a new store is to be made there."""
    if path.is_dir():
        raise StoreError(f"store path {path} is a folder; give a file, e.g. --store "
                         f"{path / DEFAULT_STORE}")
    if not path.exists():
        if not create:
            raise StoreError(
                f"no store at {path}: import or collect a bench first, or point --store / "
                "RBENCH_STORE at an existing store"
            )
        parent = path.parent
        if not parent.exists():
            raise StoreError(f"cannot create store {path}: folder {parent} does not exist")
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"cannot read store {path}: {exc.strerror or exc}; check its "
                         "permissions") from None
    if not head:
        return create
    if head != _SQLITE_MAGIC:
        raise StoreError(f"{path} is not an rbench store (not an SQLite file at all); point "
                         "--store / RBENCH_STORE at a store, or move the file away")
    return False


def _bad_text_message(name: str, models: Sequence[ModelSpec], query_rows: Any,
                      response_rows: Any, grade_rows: Any) -> str:
    """Which record of an import holds text that is not valid Unicode (found only on error)."""
    from routerbench_core.data.text import is_clean

    keys: dict[int, str] = {}
    where = ""
    for row in query_rows if isinstance(query_rows, Sequence) else ():
        keys[row[0]] = row[1]
        for field, value in zip(QueryRow._fields[1:], row[1:], strict=False):
            if isinstance(value, str) and not is_clean(value) and not where:
                where = f"query {row[1]!r}, field {field}"
    for rows, fields in ((response_rows, RESPONSE_ROW), (grade_rows, GRADE_ROW)):
        for row in rows if isinstance(rows, Sequence) and not where else ():
            for field, value in zip(fields, row[2:], strict=False):
                if isinstance(value, str) and not is_clean(value):
                    model = models[row[1]].name if row[1] < len(models) else row[1]
                    where = (f"model {model!r} on query {keys.get(row[0], row[0])!r}, field "
                             f"{field}")
                    break
            if where:
                break
    return (f"cannot import bench {name!r}: {where or 'a record'} holds text that is not valid "
            "Unicode (a lone surrogate such as a \\udcff escape); fix the input, nothing was "
            "stored")


def _sql_literal(value: Any) -> str:
    """A constant of a row layout as SQL text (numbers and strings only)."""
    if value is None:
        return "NULL"
    if type(value) is bool or not isinstance(value, int | float | str):
        raise TypeError(f"a row-layout constant must be a number or a string, not {value!r}")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("a row-layout constant cannot hold NUL")
        return "'" + value.replace("'", "''") + "'"
    if not math.isfinite(value):
        raise ValueError(f"a row-layout constant must be finite, not {value!r}")
    return repr(value)  # the shortest text that reads back as the same number


def _insert_sql(table: str, bench_id: int, q: str, columns: Sequence[str], layout: Any) -> str:
    """The INSERT of one outcome table for rows of ``layout``: ``(q, m, *columns)`` are
    bound, every other column is written as its layout constant."""
    full = RESPONSE_ROW if table == "responses" else GRADE_ROW
    names = ["bench_id", "q", "m", *columns]
    values = [str(int(bench_id)), q, "?", *["?"] * len(columns)]
    for column in full:
        if column not in columns:
            names.append(column)
            values.append(_sql_literal(layout.value(column)))
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(values)})"


def lease_owner_id() -> str:
    """Who holds a lease: host, process id, a random tag (a reused pid is not the owner) and
    the time the run started."""
    import socket
    import uuid

    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}:{time.time():.6f}"


def _owner_started(owner: str) -> float | None:
    """When the run holding leases as ``owner`` started (the last field of its id)."""
    try:
        return float(owner.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def _owner_alive(owner: str) -> bool:
    """False only when ``owner`` was a process on this host that no longer exists."""
    import socket

    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    return pid_alive(int(pid_text))


def store_error(exc: sqlite3.Error, path: Path) -> StoreError:
    """One line naming the store and the fix for an SQLite failure the user can act on."""
    text = str(exc)
    low = text.lower()
    if "locked" in low or "busy" in low:
        msg = (f"store {path} is locked by another process (waited for it); wait until that "
               "rbench finishes, or use another --store")
    elif "readonly" in low or "read-only" in low:
        msg = (f"store {path} is read-only ({text}); make the file and its folder writable, "
               "or copy it and use --store COPY")
    elif "full" in low:
        msg = (f"store {path}: disk full ({text}); the write in progress was rolled back and "
               "nothing stored before is lost. Free space (or move the store) and run again")
    elif "not a database" in low or "malformed" in low or "encrypted" in low:
        msg = (f"{path} is not a readable rbench store ({text}); point --store / RBENCH_STORE "
               "at a store, or move the file away")
    elif "unable to open" in low:
        msg = (f"cannot open store {path} ({text}); check that its folder exists and is "
               "writable")
    elif "disk i/o" in low:
        msg = (f"store {path}: write failed ({text}): the disk or a file-size limit may be full, "
               "or the disk read-only or gone; the write in progress was rolled back and "
               "nothing stored before is lost. Fix that and run again")
    else:
        msg = f"store {path}: {text}"
    return StoreError(msg)


class Store:
    """A connection to one rbench store file. Use as a context manager or call :meth:`close`.

    Opening checks the file before anything is written to it, so every problem is one line
    naming the path and the fix: a folder, a missing file (with ``create=False``), a file that
    is not SQLite, another program's SQLite database (never modified: rbench adds no tables to
    it), a store from an older rbench (``rbench data migrate``) or a newer one, and, for a
    writable store, a read-only file or a store locked by another process (probed with a write
    lock right away, not at the first write after minutes of work).

    :param create: make a new store when ``path`` does not exist (write commands); read
        commands pass False and get an error instead of an empty file.
    :param readonly: open for reading only (SQLite ``mode=ro``): the file is never written.
    :param timeout: seconds to wait for another process's write lock.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float | None = None,
                 create: bool = True, readonly: bool = False, _migrating: bool = False):
        self.path = Path(path) if path is not None else default_store_path()
        self.readonly = readonly
        self._migrating = _migrating
        if timeout is None:
            timeout = float(os.environ.get("RBENCH_STORE_TIMEOUT") or 60.0)
        self.timeout = timeout
        self._lock = threading.RLock()
        is_new = _check_store_file(self.path, create=create and not readonly)
        try:
            if readonly:
                uri = f"file:{_uri_path(self.path)}?mode=ro"
                self._conn = sqlite3.connect(uri, uri=True, timeout=timeout,
                                             isolation_level=None, check_same_thread=False)
            else:
                self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                             check_same_thread=False)
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from None
        try:
            self._open(is_new)
        except BaseException:
            self._conn.close()
            raise

    def _open(self, is_new: bool) -> None:
        try:
            self._conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            version = None if is_new else self._identify()
            if version is None and self.readonly:
                raise StoreError(f"{self.path} is an empty file, not an rbench store; point "
                                 "--store / RBENCH_STORE at a store")
            if not self.readonly:
                if version is not None and version < SCHEMA_VERSION and not self._migrating:
                    raise StoreError(
                        f"store {self.path} has rbench schema version {version}; this rbench "
                        f"writes version {SCHEMA_VERSION}. Upgrade it with `rbench --store "
                        f"{self.path} data migrate` (reading it works as it is)"
                    )
                # Takes effect only on a new, empty file (an existing store keeps its page
                # size): response rows carry whole answers, and larger pages suit those wide
                # rows in the clustered (WITHOUT ROWID) outcome tables.
                self._conn.execute("PRAGMA page_size=8192")
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                # a write lock now: a read-only or locked store fails here, before long work
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    # SQLite opens a file it may not write (permissions, immutable, read-only
                    # mount) read-only without a word, and only a write statement tells
                    if version is not None:
                        self._conn.execute(
                            "UPDATE meta SET value=value WHERE key='schema_version'")
                    if version is None:
                        for stmt in _statements(_SCHEMA):
                            self._conn.execute(stmt)
                        self._conn.execute(
                            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                            (str(SCHEMA_VERSION),))
                        self._conn.execute(
                            "INSERT OR REPLACE INTO meta VALUES ('format', 'rbench')")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                else:  # the probe is undone; only a new schema is kept
                    self._conn.execute("COMMIT" if version is None else "ROLLBACK")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self.schema_version = version if version is not None else SCHEMA_VERSION
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from None

    def _identify(self) -> int | None:
        """The rbench schema version of an existing file; None for an empty SQLite database.
        Refuses another program's database and a store from a newer rbench."""
        tables = {r[0] for r in self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return None
        row = None
        if "meta" in tables:
            with contextlib.suppress(sqlite3.Error):
                row = self._conn.execute(
                    "SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None or not str(row[0]).isdigit() or not {"benches", "responses"} <= tables:
            shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise StoreError(
                f"{self.path} is an SQLite database but not an rbench store (its tables: "
                f"{shown}); rbench leaves it untouched. Point --store / RBENCH_STORE at an "
                "rbench store or a new file"
            )
        version = int(row[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {version}, newer than this rbench "
                f"understands ({SCHEMA_VERSION}); upgrade rbench"
            )
        return version

    @classmethod
    def for_migration(cls, path: str | os.PathLike[str] | None = None) -> Store:
        """Open an existing store of any older schema version, to :meth:`migrate` it."""
        return cls(path, create=False, _migrating=True)

    def migrate(self) -> list[str]:
        """Bring an older rbench store to :data:`SCHEMA_VERSION` in one transaction; returns
        what was done (empty when it was current). Open it with :meth:`for_migration`."""
        done: list[str] = []
        with self.transaction() as conn:
            version = int(conn.execute(
                "SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for stmt in _MIGRATIONS[target]:
                    conn.execute(stmt)
                done.append(f"schema {target - 1} -> {target}: {_MIGRATION_NOTES[target]}")
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('format', 'rbench')")
        self.schema_version = SCHEMA_VERSION
        return done

    # -- plumbing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locking) transaction; rolled back on any exception."""
        if self.readonly:
            raise StoreError(f"store {self.path} was opened read-only; this command cannot "
                             "write to it")
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise store_error(exc, self.path) from None
            try:
                yield self._conn
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise store_error(exc, self.path) from None
                raise
            else:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                    raise store_error(exc, self.path) from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._conn.execute(sql, params)
            except sqlite3.OperationalError as exc:
                raise store_error(exc, self.path) from None

    def _has_table(self, name: str) -> bool:
        return self.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                            (name,)).fetchone() is not None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- benches ---------------------------------------------------------------------------

    def bench_names(self) -> list[str]:
        return [r[0] for r in self.execute(
            "SELECT name FROM benches WHERE substr(name, 1, ?) != ? ORDER BY name",
            (len(STAGING_PREFIX), STAGING_PREFIX))]

    def has_bench(self, name: str) -> bool:
        return self.execute("SELECT 1 FROM benches WHERE name=?", (name,)).fetchone() is not None

    def bench_id(self, name: str) -> int:
        row = self.execute("SELECT id FROM benches WHERE name=?", (name,)).fetchone()
        if row is None:
            names = self.bench_names()
            hint = did_you_mean(name, names)
            raise StoreError(
                f"no bench named {name!r} in {self.path}.{hint} Benches: "
                f"{', '.join(names) or 'none'} (import one with `rbench data import`)"
            )
        return int(row[0])

    def create_bench(
        self,
        name: str,
        *,
        source: str | None = None,
        metadata: dict[str, Any] | None = None,
        conn: sqlite3.Connection | None = None,
    ) -> int:
        """Create an empty bench. Refuses an existing name (never overwrites stored data)."""
        validate_bench_name(name)
        c = conn or self._conn
        if c.execute("SELECT 1 FROM benches WHERE name=?", (name,)).fetchone():
            raise StoreError(
                f"bench {name!r} already exists in {self.path}; choose another --name or "
                f"delete it first with `rbench data delete {name}`"
            )
        cur = c.execute(
            "INSERT INTO benches (name, source, created_at, metadata) VALUES (?,?,?,?)",
            (name, source, time.time(), _dumps(metadata or {})),
        )
        self._touch(c, int(cur.lastrowid))  # type: ignore[arg-type]
        return int(cur.lastrowid)  # type: ignore[arg-type]

    def ensure_bench(self, name: str, *, source: str | None = None) -> int:
        """The id of bench ``name``, creating it if needed (collectors append to a bench)."""
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM benches WHERE name=?", (name,)).fetchone()
            if row:
                return int(row[0])
            return self.create_bench(name, source=source, conn=conn)

    def delete_bench(self, name: str) -> None:
        bench_id = self.bench_id(name)
        with self.transaction() as conn:
            self._delete_bench_rows(conn, bench_id)

    @staticmethod
    def _delete_bench_rows(conn: sqlite3.Connection, bench_id: int) -> None:
        for table in ("grades", "responses", "text_blocks", "queries", "models"):
            conn.execute(f"DELETE FROM {table} WHERE bench_id=?", (bench_id,))
        conn.execute("DELETE FROM benches WHERE id=?", (bench_id,))
        conn.execute("DELETE FROM meta WHERE key=?", (_version_key(bench_id),))

    def write_bench(
        self,
        name: str,
        *,
        models: Sequence[ModelSpec],
        query_rows: Iterable[tuple[Any, ...]],
        response_rows: Iterable[tuple[Any, ...]] = (),
        grade_rows: Iterable[tuple[Any, ...]] = (),
        source: str | None = None,
        metadata: dict[str, Any] | None = None,
        replace: bool = False,
    ) -> int:
        """Write a whole bench in one transaction (the importers' fast path).

        Rows are the table's columns without the leading bench id: queries ``(idx, key,
        dataset, qid, text, messages, ground_truth, source_split, metadata)``, responses
        ``(q, m, <_RESPONSE_COLUMNS>)``, grades ``(q, m, score, prediction, grader,
        grader_version, details, created_at)``; model ``i`` of ``models`` gets index ``i``.
        An existing bench of that name is an error unless ``replace``, in which case it is
        deleted in the same transaction: if anything fails, the old bench is untouched.
        """
        try:
            return self._write_bench(name, models=models, query_rows=query_rows,
                                     response_rows=response_rows, grade_rows=grade_rows,
                                     source=source, metadata=metadata, replace=replace)
        except UnicodeEncodeError:
            raise StoreError(_bad_text_message(name, models, query_rows, response_rows,
                                               grade_rows)) from None

    def _write_bench(
        self, name: str, *, models: Sequence[ModelSpec], query_rows: Iterable[tuple[Any, ...]],
        response_rows: Iterable[tuple[Any, ...]], grade_rows: Iterable[tuple[Any, ...]],
        source: str | None, metadata: dict[str, Any] | None, replace: bool,
    ) -> int:
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM benches WHERE name=?", (name,)).fetchone()
            if row is not None:
                if not replace:
                    raise StoreError(
                        f"bench {name!r} already exists in {self.path}; choose another --name, "
                        f"pass --replace, or delete it first with `rbench data delete {name}`"
                    )
                self._delete_bench_rows(conn, int(row[0]))
            bench_id = self.create_bench(name, source=source, metadata=metadata, conn=conn)
            conn.executemany(
                "INSERT INTO models (bench_id, idx, name, spec) VALUES (?,?,?,?)",
                [(bench_id, i, s.name, s.model_dump_json()) for i, s in enumerate(models)],
            )
            # The bench id is an integer we just made, so it is written into the SQL text
            # instead of being prepended to 400k row tuples.
            bid = int(bench_id)
            conn.executemany(f"INSERT INTO queries VALUES ({bid},?,?,?,?,?,?,?,?,?)", query_rows)
            # Outcome tables are clustered on (bench, q, m): inserting in that order appends to
            # the B-tree instead of splitting pages all over it (about 3x faster for 400k rows).
            ordered = sorted(response_rows, key=_QM)
            conn.executemany(
                f"INSERT INTO responses (bench_id, q, m, {_RESPONSE_COLUMNS}) "
                f"VALUES ({bid},?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                ordered,
            )
            ordered = sorted(grade_rows, key=_QM)
            conn.executemany(f"INSERT INTO grades VALUES ({bid},?,?,?,?,?,?,?,?)", ordered)
            del ordered
        return bench_id

    def bench_metadata(self, name: str) -> dict[str, Any]:
        row = self.execute("SELECT metadata FROM benches WHERE name=?", (name,)).fetchone()
        if row is None:
            self.bench_id(name)
        return json.loads(row[0])

    def update_bench_metadata(self, name: str, **updates: Any) -> None:
        meta = self.bench_metadata(name)
        meta.update(updates)
        with self.transaction() as conn:
            conn.execute("UPDATE benches SET metadata=? WHERE name=?", (_dumps(meta), name))
            self._touch(conn, self.bench_id(name))

    def summary(self, name: str) -> BenchSummary:
        bench_id = self.bench_id(name)
        row = self.execute(
            "SELECT source, created_at, metadata FROM benches WHERE id=?", (bench_id,)
        ).fetchone()

        def count(sql: str) -> int:
            return int(self.execute(sql, (bench_id,)).fetchone()[0])

        return BenchSummary(
            name=name,
            source=row[0],
            created_at=row[1],
            n_queries=count("SELECT COUNT(*) FROM queries WHERE bench_id=?"),
            n_models=count("SELECT COUNT(*) FROM models WHERE bench_id=?"),
            n_responses=count("SELECT COUNT(*) FROM responses WHERE bench_id=?"),
            n_failures=count(
                "SELECT COUNT(*) FROM responses WHERE bench_id=? AND error IS NOT NULL"
            ),
            n_grades=count("SELECT COUNT(*) FROM grades WHERE bench_id=? AND score IS NOT NULL"),
            metadata=json.loads(row[2]),
        )

    def dataset_counts(self, name: str) -> dict[str, int]:
        bench_id = self.bench_id(name)
        rows = self.execute(
            "SELECT dataset, COUNT(*) FROM queries WHERE bench_id=? GROUP BY dataset "
            "ORDER BY MIN(idx)",
            (bench_id,),
        )
        return {d: int(n) for d, n in rows}

    def split_counts(self, name: str) -> dict[str | None, int]:
        """Queries per source split (``None`` for queries imported without one)."""
        bench_id = self.bench_id(name)
        rows = self.execute(
            "SELECT source_split, COUNT(*) FROM queries WHERE bench_id=? GROUP BY source_split "
            "ORDER BY MIN(idx)",
            (bench_id,),
        )
        return {s: int(n) for s, n in rows}

    def cost_source_counts(self, name: str) -> dict[str | None, int]:
        """Responses per cost source (``None`` = no cost known)."""
        bench_id = self.bench_id(name)
        rows = self.execute(
            "SELECT cost_source, COUNT(*) FROM responses WHERE bench_id=? GROUP BY cost_source "
            "ORDER BY cost_source",
            (bench_id,),
        )
        return {s: int(n) for s, n in rows}

    # -- models ----------------------------------------------------------------------------

    def add_models(
        self, bench: str | int, specs: Iterable[ModelSpec], *, conn: sqlite3.Connection | None = None
    ) -> dict[str, int]:
        """Add models (new names only; an existing name keeps its index and gets the new spec)."""
        c = conn or self._conn
        bench_id = bench if isinstance(bench, int) else self.bench_id(bench)
        index = {
            name: int(idx)
            for idx, name in c.execute("SELECT idx, name FROM models WHERE bench_id=?", (bench_id,))
        }
        for spec in specs:
            if spec.name in index:
                c.execute(
                    "UPDATE models SET spec=? WHERE bench_id=? AND name=?",
                    (spec.model_dump_json(), bench_id, spec.name),
                )
                continue
            idx = len(index)
            c.execute(
                "INSERT INTO models (bench_id, idx, name, spec) VALUES (?,?,?,?)",
                (bench_id, idx, spec.name, spec.model_dump_json()),
            )
            index[spec.name] = idx
        self._touch(c, bench_id)
        return index

    def models(self, bench: str) -> list[ModelSpec]:
        from routerbench_core.schema import ModelSpec

        bench_id = self.bench_id(bench)
        rows = self.execute(
            "SELECT spec FROM models WHERE bench_id=? ORDER BY idx", (bench_id,)
        ).fetchall()
        return [ModelSpec.model_validate_json(r[0]) for r in rows]

    def model_index(self, bench_id: int) -> dict[str, int]:
        rows = self.execute("SELECT name, idx FROM models WHERE bench_id=?", (bench_id,))
        return {n: int(i) for n, i in rows}

    # -- queries ---------------------------------------------------------------------------

    def add_queries(
        self, bench: str | int, queries: Iterable[Query], *, conn: sqlite3.Connection | None = None
    ) -> dict[str, int]:
        """Add queries; a key already present keeps its row. Returns key -> index for all."""
        c = conn or self._conn
        bench_id = bench if isinstance(bench, int) else self.bench_id(bench)
        index = self.query_index(bench_id, conn=c)
        rows = []
        for q in queries:
            if q.key in index:
                continue
            idx = len(index)
            index[q.key] = idx
            rows.append(
                (
                    bench_id, idx, q.key, q.dataset, q.id, q.text,
                    None if q.messages is None else _dumps(q.messages),
                    None if q.ground_truth is None else _dumps(q.ground_truth),
                    q.source_split, _dumps(q.metadata),
                )
            )
        c.executemany("INSERT INTO queries VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        if rows:
            self._touch(c, bench_id)
        return index

    def refresh_query_messages(
        self, bench_id: int, queries: Iterable[Query], *, conn: sqlite3.Connection | None = None
    ) -> int:
        """Store the current chat messages of existing queries where they changed (a dataset's
        prompt builder changed since they were stored), so the stored prompt is always the one
        sent. Returns how many queries were updated."""
        c = conn or self._conn
        stored = dict(c.execute("SELECT key, messages FROM queries WHERE bench_id=?", (bench_id,)))
        changed = []
        for q in queries:
            if q.messages is None or q.key not in stored:
                continue
            new = _dumps(q.messages)
            if stored[q.key] != new:
                changed.append((new, bench_id, q.key))
        c.executemany("UPDATE queries SET messages=? WHERE bench_id=? AND key=?", changed)
        if changed:
            self._touch(c, bench_id)
        return len(changed)

    def query_index(self, bench_id: int, *, conn: sqlite3.Connection | None = None) -> dict[str, int]:
        c = conn or self._conn
        rows = c.execute("SELECT key, idx FROM queries WHERE bench_id=?", (bench_id,))
        return {k: int(i) for k, i in rows}

    def queries(self, bench: str, *, dataset: str | None = None) -> list[Query]:
        from routerbench_core.schema import Query

        bench_id = self.bench_id(bench)
        sql = (
            "SELECT key, dataset, qid, text, messages, ground_truth, source_split, metadata "
            "FROM queries WHERE bench_id=?"
        )
        params: list[Any] = [bench_id]
        if dataset is not None:
            sql += " AND dataset=?"
            params.append(dataset)
        rows = self.execute(sql + " ORDER BY idx", params).fetchall()
        return [
            Query(
                key=k, dataset=d, id=i, text=t,
                messages=None if msg is None else json.loads(msg),
                ground_truth=None if gt is None else json.loads(gt),
                source_split=s, metadata=json.loads(meta),
            )
            for k, d, i, t, msg, gt, s, meta in rows
        ]

    # -- responses and grades --------------------------------------------------------------

    def _indices(self, bench_id: int, query_key: str, model: str, qi: dict[str, int],
                 mi: dict[str, int]) -> tuple[int, int]:
        try:
            return qi[query_key], mi[model]
        except KeyError as exc:
            what = "query" if query_key not in qi else "model"
            raise StoreError(
                f"cannot store outcome for unknown {what} {exc.args[0]!r} in bench id {bench_id}; "
                "add the query/model to the bench first"
            ) from None

    def put_responses(self, bench: str, responses: Iterable[Response]) -> int:
        """Insert or replace responses (one transaction). Returns how many were written."""
        bench_id = self.bench_id(bench)
        with self.transaction() as conn:
            qi, mi = self.query_index(bench_id, conn=conn), self.model_index(bench_id)
            rows = []
            for r in responses:
                q, m = self._indices(bench_id, r.query_key, r.model, qi, mi)
                rows.append(
                    (bench_id, q, m, r.raw_output, r.prompt_tokens, r.completion_tokens,
                     r.reasoning_tokens, r.cached_tokens, r.cost, r.cost_source, r.latency_s,
                     r.error, r.request_hash, r.created_at, _dumps(r.metadata))
                )
            self.write_response_rows(conn, rows)
        return len(rows)

    @staticmethod
    def write_response_rows(conn: sqlite3.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
        """Fast path for importers: rows are ``(bench_id, q, m, <_RESPONSE_COLUMNS>)``."""
        rows = rows if isinstance(rows, list) else list(rows)
        Store._touch_rows(conn, rows)
        conn.executemany(
            f"INSERT OR REPLACE INTO responses (bench_id, q, m, {_RESPONSE_COLUMNS}) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )

    @staticmethod
    def write_grade_rows(conn: sqlite3.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
        """Fast path: rows are ``(bench_id, q, m, score, prediction, grader, grader_version,
        details_json, created_at)``."""
        rows = rows if isinstance(rows, list) else list(rows)
        Store._touch_rows(conn, rows)
        conn.executemany("INSERT OR REPLACE INTO grades VALUES (?,?,?,?,?,?,?,?,?)", rows)

    def put_grades(self, bench: str, grades: Iterable[Grade]) -> int:
        bench_id = self.bench_id(bench)
        with self.transaction() as conn:
            qi, mi = self.query_index(bench_id, conn=conn), self.model_index(bench_id)
            rows = []
            for g in grades:
                q, m = self._indices(bench_id, g.query_key, g.model, qi, mi)
                rows.append(
                    (bench_id, q, m, g.score, g.prediction, g.grader, g.grader_version,
                     _dumps(g.details), g.created_at)
                )
            self.write_grade_rows(conn, rows)
        return len(rows)

    # -- grade writer (kill-safe grading: one commit per finished grade) --------------------

    def grade_writer(self, bench: str) -> Callable[[Grade], None]:
        """A function that stores one grade and commits it at once.

        Why not :meth:`put_grades` per grade: it reads the bench's query index on every call.
        The writer reads it once, so committing each grade as it finishes costs one small
        transaction; a killed grading run then loses only the answers in flight.
        """
        bench_id = self.bench_id(bench)
        qi, mi = self.query_index(bench_id), self.model_index(bench_id)

        def write(g: Grade) -> None:
            q, m = self._indices(bench_id, g.query_key, g.model, qi, mi)
            with self.transaction() as conn:
                self.write_grade_rows(conn, [(bench_id, q, m, g.score, g.prediction, g.grader,
                                              g.grader_version, _dumps(g.details), g.created_at)])

        return write

    # -- end of grade writer -------------------------------------------------------------

    def responses(
        self, bench: str, *, model: str | None = None, dataset: str | None = None,
        include_failed: bool = True,
    ) -> Iterator[Response]:
        from routerbench_core.schema import Response

        bench_id = self.bench_id(bench)
        sql = (
            f"SELECT qu.key, mo.name, {', '.join('r.' + c for c in RESPONSE_ROW)} "
            "FROM responses r JOIN queries qu ON qu.bench_id=r.bench_id AND qu.idx=r.q "
            "JOIN models mo ON mo.bench_id=r.bench_id AND mo.idx=r.m WHERE r.bench_id=?"
        )
        params: list[Any] = [bench_id]
        if model is not None:
            sql += " AND mo.name=?"
            params.append(model)
        if dataset is not None:
            sql += " AND qu.dataset=?"
            params.append(dataset)
        if not include_failed:
            sql += " AND r.error IS NULL"
        unpack = self.text_reader().unpack
        for row in self.execute(sql + " ORDER BY r.q, r.m", params).fetchall():
            (key, name, raw, pt, ct, rt, cached, cost, src, lat, err, rh, created, meta) = row
            yield Response(
                query_key=key, model=name, raw_output=unpack(raw, bench_id), prompt_tokens=pt,
                completion_tokens=ct, reasoning_tokens=rt, cached_tokens=cached, cost=cost,
                cost_source=src, latency_s=lat, error=err, request_hash=rh, created_at=created,
                metadata=json.loads(meta),
            )

    def grades(self, bench: str, *, model: str | None = None) -> Iterator[Grade]:
        from routerbench_core.schema import Grade

        bench_id = self.bench_id(bench)
        sql = (
            "SELECT qu.key, mo.name, g.score, g.prediction, g.grader, g.grader_version, "
            "g.details, g.created_at FROM grades g "
            "JOIN queries qu ON qu.bench_id=g.bench_id AND qu.idx=g.q "
            "JOIN models mo ON mo.bench_id=g.bench_id AND mo.idx=g.m WHERE g.bench_id=?"
        )
        params: list[Any] = [bench_id]
        if model is not None:
            sql += " AND mo.name=?"
            params.append(model)
        for key, name, score, pred, grader, version, details, created in self.execute(
            sql + " ORDER BY g.q, g.m", params
        ).fetchall():
            yield Grade(
                query_key=key, model=name, score=score, prediction=pred, grader=grader,
                grader_version=version, details=json.loads(details), created_at=created,
            )

    def outputs(self, bench: str, model: str, keys: Sequence[str]) -> list[str | None]:
        """Stored answer texts of ``model`` for ``keys`` (None where absent or failed)."""
        bench_id = self.bench_id(bench)
        m = self.model_index(bench_id).get(model)
        if m is None:
            raise StoreError(f"model {model!r} is not in bench {bench!r}")
        qi = self.query_index(bench_id)
        rows = dict(
            self.execute(
                "SELECT q, raw_output FROM responses WHERE bench_id=? AND m=? AND error IS NULL",
                (bench_id, m),
            ).fetchall()
        )
        unpack = self.text_reader().unpack
        return [unpack(rows.get(qi.get(k, -1)), bench_id) for k in keys]

    # -- the outcome matrix ----------------------------------------------------------------

    def load_matrix(self, bench: str, *, use_cache: bool = True) -> OutcomeMatrix:
        """Load queries × models outcomes into numpy (NaN where missing or failed), from the
        columnar cache beside the store when it matches the bench's version (see
        ``data/matrix_cache.py``), else from SQL (and refresh the cache)."""
        if use_cache:
            from routerbench_core.data import matrix_cache

            return matrix_cache.load(self, bench)
        return self.load_matrix_sql(bench)

    def load_matrix_sql(self, bench: str) -> OutcomeMatrix:
        """The outcome matrix read from the tables (the cache's source of truth)."""
        import numpy as np

        from routerbench_core.data.matrix import OutcomeMatrix
        from routerbench_core.schema import ModelSpec

        bench_id = self.bench_id(bench)
        model_rows = self.execute(
            "SELECT name, spec FROM models WHERE bench_id=? ORDER BY idx", (bench_id,)
        ).fetchall()
        models = [r[0] for r in model_rows]
        specs = {r[0]: ModelSpec.model_validate_json(r[1]) for r in model_rows}
        q_rows = self.execute(
            "SELECT key, dataset, text FROM queries WHERE bench_id=? ORDER BY idx", (bench_id,)
        ).fetchall()
        n, m = len(q_rows), len(models)
        keys = np.array([r[0] for r in q_rows], dtype=object)
        datasets = np.array([r[1] for r in q_rows], dtype=object)
        texts = [r[2] for r in q_rows]

        def grid() -> np.ndarray:
            return np.full((n, m), np.nan, dtype=np.float64)

        score, cost, pt, ct, lat = grid(), grid(), grid(), grid(), grid()
        failed = np.zeros((n, m), dtype=bool)
        cost_source = np.full((n, m), None, dtype=object)
        # Fast path: numeric columns straight from the cursor into a structured array (no
        # per-row Python objects beyond the cursor's tuples). SQLite has no NaN, so each
        # nullable column comes with an IS NULL flag; cost sources come as small codes.
        sources = [r[0] for r in self.execute(
            "SELECT DISTINCT cost_source FROM responses WHERE bench_id=? "
            "AND cost_source IS NOT NULL", (bench_id,)).fetchall()]
        cur = self.execute(matrix_sql(len(sources), m), (*sources, bench_id))
        r = np.fromiter(cur, dtype=np.dtype(_RESPONSE_FIELDS))
        if len(r):
            cell, flags = r["cell"], r["flags"]
            has = np.zeros(n * m, dtype=bool)
            has[cell] = True
            for bit, (grid_, value) in enumerate(((cost, "cost"), (pt, "pt"), (ct, "ct"),
                                                  (lat, "lat"))):
                col = r[value].copy()
                col[(flags >> bit) & 1 == 1] = np.nan
                grid_.ravel()[cell] = col
            failed.ravel()[cell] = (flags >> 4) & 1 == 1
            codes = flags >> 5
            known = codes > 0
            if known.any():
                names = np.array([None, *sources], dtype=object)
                cost_source.ravel()[cell[known]] = names[codes[known]]
            g = np.fromiter(
                self.execute(f"SELECT q * {int(m)} + m, IFNULL(score, 0), score IS NULL "
                             "FROM grades WHERE bench_id=?", (bench_id,)),
                dtype=np.dtype(_GRADE_FIELDS),
            )
            col = g["score"].copy()
            col[g["null"]] = np.nan
            score.ravel()[g["cell"]] = col
            # a score counts only for a call that was made and did not fail
            score[~has.reshape(n, m) | failed] = np.nan
        meta = self.bench_metadata(bench)
        return OutcomeMatrix(
            bench=bench, models=models, keys=keys, datasets=datasets, texts=texts, score=score,
            cost=cost, prompt_tokens=pt, completion_tokens=ct, latency=lat, failed=failed,
            model_specs=specs, cost_source=cost_source, metadata=meta,
        )

    # -- cached calls (the collector's request cache and the judge cache) ------------------

    def cached_responses(self, hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The cached answers among ``hashes`` (request hash -> the stored response fields,
        without query key, model and request hash), 500 hashes per query. The collector and
        the LLM judge both read the cache through this one method."""
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(hashes), 500):
            chunk = list(hashes[i : i + 500])
            marks = ",".join("?" * len(chunk))
            for h, response in self.execute(
                f"SELECT hash, response FROM request_cache WHERE hash IN ({marks})", chunk
            ):
                found[h] = json.loads(response)
        return found

    def put_cached(
        self, calls: Iterable[CachedCall], *, conn: sqlite3.Connection | None = None
    ) -> int:
        """Cache successful answers (insert or replace by hash); in ``conn``'s transaction
        when given, else in a new one. Returns how many entries were written."""
        now = time.time()
        rows = [(c.hash, c.backend, c.model, _dumps(c.request), _cached_json(c.response), now)
                for c in calls]
        if not rows:
            return 0
        if conn is not None:
            conn.executemany("INSERT OR REPLACE INTO request_cache VALUES (?,?,?,?,?,?)", rows)
        else:
            with self.transaction() as c:
                c.executemany("INSERT OR REPLACE INTO request_cache VALUES (?,?,?,?,?,?)", rows)
        return len(rows)

    def cache_hashes(self, hashes: Sequence[str]) -> set[str]:
        """Which of ``hashes`` are already cached."""
        return set(self.cached_responses(hashes))

    # -- the collector's writes ------------------------------------------------------------

    def answered_hashes(self, bench_id: int) -> dict[tuple[int, int], str | None]:
        """(query index, model index) -> request hash of every successful stored answer: a
        collector skips a pair whose stored hash equals the hash it would send."""
        return {
            (int(q), int(m)): h
            for q, m, h in self.execute(
                "SELECT q, m, request_hash FROM responses WHERE bench_id=? AND error IS NULL",
                (bench_id,),
            )
        }

    def record_answers(
        self,
        bench_id: int,
        answers: Sequence[tuple[int, int, str | None, Response]],
        cached: Iterable[CachedCall] = (),
        *,
        lease_owner: str | None = None,
    ) -> None:
        """Store freshly collected answers ``(query index, model index, request hash,
        response)`` in one transaction: each response row (insert or replace), the removal of
        that cell's now-stale grade, the cache entries (text that is not valid UTF-8 stored
        losslessly, see :mod:`routerbench_core.data.text`) and, with ``lease_owner``, that owner's
        leases on those requests (so no other collector can ask them in between)."""
        from routerbench_core.data.text import clean_text

        rows = [
            (bench_id, q, m, r.raw_output, r.prompt_tokens, r.completion_tokens,
             r.reasoning_tokens, r.cached_tokens, r.cost, r.cost_source, r.latency_s, r.error,
             h, r.created_at, _dumps(r.metadata))
            for q, m, h, r in ((q, m, h, clean_text(r)) for q, m, h, r in answers)
        ]
        with self.transaction() as conn:
            self.write_response_rows(conn, rows)
            conn.executemany("DELETE FROM grades WHERE bench_id=? AND q=? AND m=?",
                             [(bench_id, q, m) for q, m, _, _ in answers])
            self.put_cached(cached, conn=conn)
            if lease_owner is not None:
                conn.executemany("DELETE FROM leases WHERE owner=? AND hash=?",
                                 [(lease_owner, h) for _, _, h, _ in answers if h])

    # -- leases: concurrent collectors never send one request twice ----------------------

    def claim_requests(
        self, hashes: Sequence[str], owner: str, ttl_s: float, *, cached_since: float = 0.0
    ) -> tuple[set[str], set[str]]:
        """Claim the right to send each request of ``hashes`` for ``ttl_s`` seconds.

        In one write transaction: expired leases, and leases of owners that are dead
        processes on this host (a SIGKILLed collector), are dropped; each hash not cached
        (counting only entries cached at or after ``cached_since``, or after the start of
        another live run holding leases: a ``--refresh`` run passes its start time) and not leased by another owner is leased to ``owner``. Returns ``(claimed, cached)``: what this owner now holds, and what is
        already answered in the cache; the rest is being asked by another collector.
        """
        now = time.time()
        claimed: set[str] = set()
        cached: set[str] = set()
        with self.transaction() as conn:
            conn.execute("DELETE FROM leases WHERE expires_at < ?", (now,))
            if cached_since > 0:
                # a refresh run running beside another one takes the answers that run made
                # since it started, so two identical refresh runs still ask each request once
                for (other,) in conn.execute(
                        "SELECT DISTINCT owner FROM leases WHERE owner != ?", (owner,)).fetchall():
                    started = _owner_started(other)
                    if started is not None and _owner_alive(other):
                        cached_since = min(cached_since, started)
            for i in range(0, len(hashes), 500):
                chunk = list(hashes[i : i + 500])
                marks = ",".join("?" * len(chunk))
                cached.update(r[0] for r in conn.execute(
                    f"SELECT hash FROM request_cache WHERE created_at >= ? AND hash IN ({marks})",
                    [cached_since, *chunk]))
                owners = {r[0] for r in conn.execute(
                    f"SELECT DISTINCT owner FROM leases WHERE hash IN ({marks})", chunk)}
                for other in owners - {owner}:
                    if not _owner_alive(other):
                        conn.execute("DELETE FROM leases WHERE owner=?", (other,))
                todo = [h for h in chunk if h not in cached]
                conn.executemany(
                    "INSERT OR IGNORE INTO leases (hash, owner, expires_at) VALUES (?,?,?)",
                    [(h, owner, now + ttl_s) for h in todo])
                claimed.update(r[0] for r in conn.execute(
                    f"SELECT hash FROM leases WHERE owner=? AND hash IN ({marks})",
                    [owner, *chunk]))
        return claimed, cached

    def renew_leases(self, owner: str, ttl_s: float) -> None:
        """Extend every lease of ``owner`` (a live collector's heartbeat)."""
        with self.transaction() as conn:
            conn.execute("UPDATE leases SET expires_at=? WHERE owner=?",
                         (time.time() + ttl_s, owner))

    def release_leases(self, owner: str, hashes: Sequence[str] | None = None) -> None:
        """Give up ``owner``'s leases (all of them, or those of ``hashes``)."""
        with self.transaction() as conn:
            if hashes is None:
                conn.execute("DELETE FROM leases WHERE owner=?", (owner,))
            else:
                conn.executemany("DELETE FROM leases WHERE owner=? AND hash=?",
                                 [(owner, h) for h in hashes])

    # -- export rows (the exporters read a bench through these) ----------------------------

    def bench_source(self, name: str) -> str | None:
        """Where bench ``name`` came from (``collect``, an import format, ...)."""
        return self.execute(
            "SELECT source FROM benches WHERE id=?", (self.bench_id(name),)
        ).fetchone()[0]

    def query_rows(self, bench: str) -> list[QueryRow]:
        """Every query of ``bench`` in index order, JSON-valued fields as stored text."""
        return [QueryRow._make(r) for r in self.execute(
            "SELECT idx, key, dataset, qid, text, messages, ground_truth, source_split, "
            "metadata FROM queries WHERE bench_id=? ORDER BY idx", (self.bench_id(bench),))]

    def response_rows(self, bench: str, *, by_model: bool = False) -> Iterator[ResponseRow]:
        """Every stored response of ``bench`` (failures included), ordered by (query, model),
        or by (model, query) with ``by_model``; metadata as stored JSON text."""
        order = "r.m, r.q" if by_model else "r.q, r.m"
        cols = ", ".join("r." + c for c in RESPONSE_ROW)
        bench_id = self.bench_id(bench)
        cur = self.execute(
            f"SELECT r.q, r.m, qu.key, mo.name, {cols} FROM responses r "
            "JOIN queries qu ON qu.bench_id=r.bench_id AND qu.idx=r.q "
            "JOIN models mo ON mo.bench_id=r.bench_id AND mo.idx=r.m WHERE r.bench_id=? "
            f"ORDER BY {order}", (bench_id,))
        unpack = self.text_reader().unpack
        return (ResponseRow._make((*r[:4], unpack(r[4], bench_id), *r[5:]))
                if type(r[4]) is bytes else ResponseRow._make(r) for r in cur.fetchall())

    def grade_rows(self, bench: str) -> Iterator[GradeRow]:
        """Every stored grade of ``bench`` ordered by (query, model); details as JSON text."""
        cur = self.execute(
            "SELECT g.q, g.m, qu.key, mo.name, g.score, g.prediction, g.grader, "
            "g.grader_version, g.details, g.created_at FROM grades g "
            "JOIN queries qu ON qu.bench_id=g.bench_id AND qu.idx=g.q "
            "JOIN models mo ON mo.bench_id=g.bench_id AND mo.idx=g.m WHERE g.bench_id=? "
            "ORDER BY g.q, g.m", (self.bench_id(bench),))
        return map(GradeRow._make, cur.fetchall())

    # -- bench versions, read snapshots, packed texts, staged imports -----------------------
    # (the performance layer: the matrix cache keys on versions, imports stream through
    # staging benches, long answers are stored packed)

    @staticmethod
    def _touch(conn: sqlite3.Connection, bench_id: int) -> str:
        """Give bench ``bench_id`` a new version (in ``conn``'s transaction) and return it.
        Every write to a bench's rows goes through a Store method that calls this, so a
        cached view of a bench is valid exactly while its version is unchanged."""
        token = secrets.token_hex(8)
        conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_version_key(bench_id), token))
        return token

    @staticmethod
    def _touch_rows(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        for bench_id in {r[0] for r in rows}:
            Store._touch(conn, int(bench_id))

    def bench_version(self, bench_id: int) -> str | None:
        """The bench's current version token (None for a store written before versions)."""
        row = self.execute("SELECT value FROM meta WHERE key=?", (_version_key(bench_id),)
                           ).fetchone()
        return None if row is None else str(row[0])

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Store]:
        """A read transaction: every read inside sees one state of the store (a version token
        and the rows it versions are read together)."""
        with self._lock:
            if self._conn.in_transaction:  # already inside one: it is the snapshot
                yield self
                return
            self._conn.execute("BEGIN")
            try:
                yield self
            finally:
                self._conn.execute("COMMIT")

    def _text_dict(self, dict_id: int) -> bytes | None:
        from routerbench_core.data import textpack

        row = self.execute("SELECT value FROM meta WHERE key=?", (textpack.meta_key(dict_id),)
                           ).fetchone()
        return None if row is None else textpack.decode_dict(row[0])

    def _text_block(self, bench_id: int, no: int) -> bytes | None:
        row = self.execute("SELECT data FROM text_blocks WHERE bench_id=? AND no=?",
                           (bench_id, no)).fetchone()
        return None if row is None else bytes(row[0])

    def text_reader(self) -> Any:
        """A :class:`~routerbench_core.data.textpack.TextReader` for one read of this store:
        stored answers are ``str``, or BLOBs (block references and schema-3 frames; see
        ``data/textpack.py``) that it decodes."""
        from routerbench_core.data.textpack import TextReader

        return TextReader(self._text_dict, self._text_block)

    def staging_benches(self) -> list[tuple[int, str, dict[str, Any]]]:
        """``(id, name, metadata)`` of every staging bench (imports in progress or killed)."""
        return [(int(i), n, json.loads(m)) for i, n, m in self.execute(
            "SELECT id, name, metadata FROM benches WHERE substr(name, 1, ?) = ?",
            (len(STAGING_PREFIX), STAGING_PREFIX))]

    def drop_stale_staging(self) -> int:
        """Delete staging benches whose importing process is gone (killed mid-import);
        returns how many. A live import on this host is left alone."""
        dropped = 0
        host = socket.gethostname()
        for bench_id, _name, meta in self.staging_benches():
            pid = meta.get("staging_pid")
            if meta.get("staging_host") == host and isinstance(pid, int) and pid_alive(pid):
                continue
            if meta.get("staging_host") != host and time.time() - meta.get("staging_at", 0) < 86400:
                continue  # another machine's import, maybe still running
            with self.transaction() as conn:
                self._delete_bench_rows(conn, bench_id)
            dropped += 1
        return dropped

    def write_bench_staged(
        self,
        name: str,
        chunks: Iterable[Any],
        *,
        source: str | None = None,
        metadata: dict[str, Any] | None = None,
        replace: bool = False,
        on_publish: Callable[[int, str], None] | None = None,
    ) -> int:
        """Write a bench from bounded chunks, all-or-nothing, without holding it in memory.

        Each chunk (``models``, ``queries``, ``responses``, ``grades`` rows as in
        :meth:`write_bench`, and on the last one ``metadata``) is written in its own
        transaction to a staging bench that no reader sees; after the last chunk one
        transaction deletes the bench being replaced (if ``replace``) and renames the staging
        bench to ``name``. If parsing or writing fails, the staging bench is deleted and an
        existing bench of that name is untouched; a killed import leaves a staging bench
        that the next import removes (:meth:`drop_stale_staging`). ``on_publish(bench_id,
        version)`` is called once the bench is visible, with the version its publication set
        (what a cache of exactly these rows is keyed by).
        """
        validate_bench_name(name)
        if self.has_bench(name) and not replace:
            raise StoreError(
                f"bench {name!r} already exists in {self.path}; choose another --name, "
                f"pass --replace, or delete it first with `rbench data delete {name}`"
            )
        self.drop_stale_staging()
        meta = dict(metadata or {})
        staging = f"{STAGING_PREFIX}{name}/{secrets.token_hex(4)}"
        with self._bulk_settings():
            bid, version = self._write_staged(name, staging, chunks, source, meta, replace)
        if on_publish is not None:
            on_publish(bid, version)
        return bid

    @contextlib.contextmanager
    def _bulk_settings(self) -> Iterator[None]:
        """This connection's page cache and WAL checkpoint interval enlarged for one bulk
        write, then restored. With a checkpoint every 1,000 pages (SQLite's default) the pages
        of a growing bench are copied into the database many times; a chunk that lands among
        the rows of the chunks before it (a stream whose chunks of one split were not merged)
        revisits their pages, which SQLite's 2 MB default cache would re-read. Neither setting
        changes what a crash can leave (the WAL still commits each chunk)."""
        with self._lock:
            before = [self._conn.execute(f"PRAGMA {p}").fetchone()[0]
                      for p in ("cache_size", "wal_autocheckpoint")]
            self._conn.execute(f"PRAGMA cache_size={-int(BULK_CACHE_KIB)}")
            self._conn.execute(f"PRAGMA wal_autocheckpoint={int(BULK_CHECKPOINT_PAGES)}")
        try:
            yield
        finally:
            with self._lock, contextlib.suppress(sqlite3.Error):
                self._conn.execute(f"PRAGMA cache_size={int(before[0])}")
                self._conn.execute(f"PRAGMA wal_autocheckpoint={int(before[1])}")

    def _write_staged(self, name: str, staging: str, chunks: Iterable[Any], source: str | None,
                      meta: dict[str, Any], replace: bool) -> tuple[int, str]:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO benches (name, source, created_at, metadata) VALUES (?,?,?,?)",
                (staging, source, time.time(), _dumps({
                    "staging_pid": os.getpid(), "staging_host": socket.gethostname(),
                    "staging_at": time.time()})),
            )
            bid = int(cur.lastrowid)  # type: ignore[arg-type]
        try:
            n_models = 0
            seen_models: list[ModelSpec] = []
            for chunk in chunks:
                seen_models += chunk.models
                try:
                    with self.transaction() as conn:
                        if chunk.blocks:
                            conn.executemany(
                                f"INSERT INTO text_blocks (bench_id, no, data) VALUES ({bid},?,?)",
                                chunk.blocks)
                        conn.executemany(
                            "INSERT INTO models (bench_id, idx, name, spec) VALUES (?,?,?,?)",
                            [(bid, n_models + i, s.name, s.model_dump_json())
                             for i, s in enumerate(chunk.models)],
                        )
                        n_models += len(chunk.models)
                        # a parse worker's query indices count from q_base
                        q = f"?+{int(chunk.q_base)}" if chunk.q_base else "?"
                        conn.executemany(
                            f"INSERT INTO queries VALUES ({bid},{q},?,?,?,?,?,?,?,?)",
                            chunk.queries)
                        if not chunk.final:
                            chunk.responses.sort(key=_QM)
                            chunk.grades.sort(key=_QM)
                        layout = chunk.layout
                        conn.executemany(_insert_sql("responses", bid, q, layout.responses,
                                                     layout), chunk.responses)
                        conn.executemany(_insert_sql("grades", bid, q, layout.grades, layout),
                                         chunk.grades)
                except UnicodeEncodeError:
                    raise StoreError(_bad_text_message(
                        name, seen_models, chunk.queries,
                        chunk.layout.full(list(chunk.responses), "responses"),
                        chunk.layout.full(list(chunk.grades), "grades"))) from None
                if chunk.metadata:
                    meta.update(chunk.metadata)
            with self.transaction() as conn:
                row = conn.execute("SELECT id FROM benches WHERE name=?", (name,)).fetchone()
                if row is not None:
                    if not replace:
                        raise StoreError(
                            f"bench {name!r} was created in {self.path} while this import ran; "
                            "nothing was stored (pass --replace to replace it)")
                    self._delete_bench_rows(conn, int(row[0]))
                conn.execute("UPDATE benches SET name=?, metadata=?, created_at=? WHERE id=?",
                             (name, _dumps(meta), time.time(), bid))
                version = self._touch(conn, bid)
        except BaseException:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # stop the producer stages (threads) now
            with contextlib.suppress(sqlite3.Error), self.transaction() as conn:
                self._delete_bench_rows(conn, bid)
            raise
        return bid, version

    # -- embedding cache -------------------------------------------------------------------

    def get_embeddings(self, embedder: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        import numpy as np

        out: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 500):
            chunk = list(hashes[i : i + 500])
            marks = ",".join("?" * len(chunk))
            for h, dim, blob in self.execute(
                f"SELECT text_hash, dim, vector FROM embeddings WHERE embedder=? "
                f"AND text_hash IN ({marks})",
                [embedder, *chunk],
            ):
                out[h] = np.frombuffer(blob, dtype=np.float32, count=dim)
        return out

    def put_embeddings(self, embedder: str, vectors: dict[str, np.ndarray]) -> None:
        import numpy as np

        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?)",
                [
                    (embedder, h, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes())
                    for h, v in vectors.items()
                ],
            )

    # -- runs (the history `rbench runs` / `show` / `compare` / `report` read) ---------------
    # Kept as one additive block: the table is created on first use with CREATE TABLE IF NOT
    # EXISTS, so stores written before it existed gain it without a schema migration.

    _RUNS_SCHEMA = (
        "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "kind TEXT NOT NULL, created TEXT NOT NULL, bench TEXT, summary TEXT NOT NULL, "
        "provenance TEXT NOT NULL, result TEXT NOT NULL)"
    )

    def _ensure_runs(self) -> bool:
        """Whether the runs table exists, creating it in a writable store; a read-only store
        is never written, so one without the table simply has no runs."""
        if getattr(self, "_runs_ready", False):
            return True
        if self.readonly:
            self._runs_ready = self._has_table("runs")
            return self._runs_ready
        with self._lock:
            self._conn.execute(self._RUNS_SCHEMA)
        self._runs_ready = True
        return True

    def add_run(self, *, kind: str, bench: str | None, summary: dict[str, Any],
                provenance: dict[str, Any], result: dict[str, Any]) -> int:
        """Record one finished run; returns its id. ``provenance['time']`` is its time."""
        self._ensure_runs()
        created = str(provenance.get("time") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (kind, created, bench, summary, provenance, result) "
                "VALUES (?,?,?,?,?,?)",
                (kind, created, bench, _dumps(summary), _dumps(provenance), _dumps(result)),
            )
            return int(cur.lastrowid or 0)

    def list_runs(self, *, kind: str | None = None, bench: str | None = None,
                  limit: int | None = None) -> list[dict[str, Any]]:
        """Runs, newest first, without their results: ``id, kind, created, bench, summary``."""
        if not self._ensure_runs():
            return []
        sql = "SELECT id, kind, created, bench, summary FROM runs"
        where, params = [], []
        if kind is not None:
            where.append("kind=?")
            params.append(kind)
        if bench is not None:
            where.append("bench=?")
            params.append(bench)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [
            {"id": i, "kind": k, "created": c, "bench": b, "summary": json.loads(s)}
            for i, k, c, b, s in self.execute(sql, params)
        ]

    def get_run(self, run: int | str) -> dict[str, Any]:
        """One run with its provenance and result; ``run`` is an id or ``last``."""
        if not self._ensure_runs():
            raise StoreError(f"store {self.path} has no runs yet (run `rbench route` first)")
        if str(run).strip().lower() in ("last", "latest"):
            row = self.execute("SELECT max(id) FROM runs").fetchone()
            if row is None or row[0] is None:
                raise StoreError(f"store {self.path} has no runs yet (run `rbench route` first)")
            run_id = int(row[0])
        else:
            try:
                run_id = int(str(run).lstrip("#"))
            except ValueError:
                raise StoreError(f"run {run!r} is not a run id (a number from `rbench runs`, "
                                 "or `last`)") from None
        row = self.execute(
            "SELECT id, kind, created, bench, summary, provenance, result FROM runs WHERE id=?",
            (run_id,),
        ).fetchone()
        if row is None:
            known = [r[0] for r in self.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 5")]
            hint = f"latest: {', '.join(map(str, known))}" if known else "the store has no runs"
            raise StoreError(f"no run {run_id} in {self.path} ({hint}; see `rbench runs`)")
        i, k, c, b, s, p, r = row
        return {"id": i, "kind": k, "created": c, "bench": b, "summary": json.loads(s),
                "provenance": json.loads(p), "result": json.loads(r)}

    # -- served traffic (``rbench serve``) -----------------------------------------------------
    # One row per request the server answered or refused: what the router decided, which model
    # answered (after fallbacks), tokens, cost, latency and errors. The query text is kept only
    # when the server runs with ``record_text``; its hash always is. The table is created on
    # first use, so stores that never served keep their schema.

    def _served_table(self) -> bool:
        """Create the table on first use; a read-only store reports whether it has one."""
        if getattr(self, "_served_ready", False):
            return True
        if getattr(self, "readonly", False):
            self._served_ready = self._has_table("served")
            #: a read-only store written before the per-key sums existed sums on the fly
            self._spend_summed = self._has_table("served_spend")
            return self._served_ready
        with self._lock:
            summed = self._has_table("served_spend")
            self._conn.executescript(_SERVED_SCHEMA)
        if not summed:  # records written before the per-key sums existed: sum them once
            with self.transaction() as conn:
                conn.execute("INSERT OR IGNORE INTO served_spend (api_key, usd) "
                             f"SELECT api_key, {_SPENT} FROM served WHERE api_key IS NOT NULL "
                             "GROUP BY api_key")
        self._served_ready = self._spend_summed = True
        return True

    def record_served(self, rows: Sequence[dict[str, Any]]) -> int:
        """Append served-request records (one transaction); keys as :data:`SERVED_COLUMNS`."""
        self._served_table()
        unknown = set().union(*rows) - _SERVED_SET
        if unknown:
            raise StoreError(f"served record has unknown field(s): {', '.join(sorted(unknown))}")
        from routerbench_core.data.jsonio import json_dumps

        # one C call per record picks the columns (absent ones None); then the JSON columns
        values = []
        for r in rows:
            row = list(_SERVED_PICK({**_SERVED_NONE, **r}))
            for i in _SERVED_JSON_AT:
                if row[i] is not None:
                    row[i] = json_dumps(row[i]).decode()
            values.append(row)
        spent = spend_by_key(rows)
        marks = ",".join("?" * len(SERVED_COLUMNS))
        with self.transaction() as conn:  # the records and the keys' sums move together
            conn.executemany(f"INSERT INTO served ({', '.join(SERVED_COLUMNS)}) VALUES ({marks})",
                             values)
            conn.executemany("INSERT INTO served_spend (api_key, usd) VALUES (?, ?) "
                             "ON CONFLICT (api_key) DO UPDATE SET usd = usd + excluded.usd",
                             list(spent.items()))
        return len(values)

    def served(self, *, router: str | None = None, since: float | None = None,
               ok_only: bool = False) -> list[dict[str, Any]]:
        """Served-request records, oldest first (JSON fields decoded)."""
        if not self._served_table():
            return []
        sql = f"SELECT {', '.join(SERVED_COLUMNS)} FROM served WHERE 1=1"
        params: list[Any] = []
        if router is not None:
            sql += " AND router=?"
            params.append(router)
        if since is not None:
            sql += " AND created_at>=?"
            params.append(since)
        if ok_only:
            sql += " AND error IS NULL"
        out = []
        for row in self.execute(sql + " ORDER BY id", params):
            rec = dict(zip(SERVED_COLUMNS, row, strict=True))
            for c in _SERVED_JSON:
                if rec[c] is not None:
                    rec[c] = json.loads(rec[c])
            out.append(rec)
        return out

    def served_spend(self) -> dict[str, float]:
        """USD spent per API key name over all served requests (for per-key budgets): read
        from the per-key sums kept with the records, so it costs the same after a million
        requests as after ten (each worker of ``rbench serve --workers`` reads it every
        second)."""
        if not self._served_table():
            return {}
        if not self._spend_summed:  # a read-only store written before the sums existed
            rows = self.execute(f"SELECT api_key, {_SPENT} FROM served WHERE api_key IS NOT "
                                "NULL GROUP BY api_key")
        else:
            rows = self.execute("SELECT api_key, usd FROM served_spend")
        return {k: float(v or 0.0) for k, v in rows}

    def served_to_bench(self, name: str, *, router: str | None = None, since: float | None = None,
                        replace: bool = False) -> int:
        """Turn answered served requests into bench ``name``: one query per distinct recorded
        text (dataset ``served``), the answering model's (and the shadow model's) answer as its
        responses, no grades yet (grade them, or collect the other models, then ``rbench
        route``). Needs records kept with ``record_text``; returns the number of queries."""
        from routerbench_core.schema import ModelSpec

        rows = [r for r in self.served(router=router, since=since, ok_only=True)
                if r["query_text"] is not None and r["model"]]
        if not rows:
            raise StoreError(
                "no served requests with recorded text (run `rbench serve` with record_text: "
                "true in its config to keep query texts)"
            )
        specs: dict[str, ModelSpec] = {}
        queries: dict[str, tuple[Any, ...]] = {}
        responses: dict[tuple[int, int], tuple[Any, ...]] = {}
        for r in rows:
            for model in (r["model"], r["shadow_model"]):
                if model and model not in specs:
                    prices = (r.get("metadata") or {}).get("prices", {}).get(model, {})
                    specs[model] = ModelSpec(name=model, **prices)
        order = list(specs)
        for r in rows:
            qhash = r["query_hash"]
            if qhash not in queries:
                idx = len(queries)
                queries[qhash] = (idx, f"served/{qhash[:16]}", "served", qhash[:16],
                                  r["query_text"], _dumps(r["messages"]) if r["messages"] else None,
                                  None, "served", _dumps({"router": r["router"],
                                                          "request_id": r["request_id"]}))
            q = queries[qhash][0]
            answers = [(r["model"], r["answer"], r["prompt_tokens"], r["completion_tokens"],
                        r["cost"], r["upstream_latency"], None)]
            if r["shadow_model"]:
                answers.append((r["shadow_model"], r["shadow_answer"], None, None,
                                r["shadow_cost"], None, r["shadow_error"]))
            for model, answer, pt, ct, cost, lat, err in answers:
                responses[(q, order.index(model))] = (
                    q, order.index(model), answer, pt, ct, None, None, cost,
                    None if cost is None else (r["metadata"] or {}).get("cost_source"),
                    lat, err, None, r["created_at"],
                    _dumps({"served_request": r["request_id"]}),
                )
        self.write_bench(name, models=[specs[m] for m in order], query_rows=queries.values(),
                         response_rows=responses.values(), source="served traffic",
                         metadata={"import_format": "served", "router": router}, replace=replace)
        return len(queries)


def spend_by_key(rows: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """USD per API key name in served records: each answer's cost and its shadow call's."""
    out: dict[str, float] = {}
    for r in rows:
        if r.get("api_key") is not None:
            out[r["api_key"]] = (out.get(r["api_key"], 0.0) + (r.get("cost") or 0.0)
                                 + (r.get("shadow_cost") or 0.0))
    return out


#: Columns of the ``served`` table, in order (``id`` is implicit).
SERVED_COLUMNS: tuple[str, ...] = (
    "request_id", "created_at", "api_key", "router", "artefact", "operating_point",
    "query_hash", "query_text", "messages", "routed_model", "model", "fallbacks", "status",
    "error", "answer", "prompt_tokens", "completion_tokens", "cost", "latency",
    "route_latency", "upstream_latency", "stream", "shadow_model", "shadow_answer",
    "shadow_cost", "shadow_error", "metadata",
)
_SERVED_JSON = frozenset({"operating_point", "messages", "fallbacks", "metadata"})
_SERVED_SET = frozenset(SERVED_COLUMNS)
_SERVED_NONE = dict.fromkeys(SERVED_COLUMNS)
_SERVED_PICK = operator.itemgetter(*SERVED_COLUMNS)
_SERVED_JSON_AT = [i for i, c in enumerate(SERVED_COLUMNS) if c in _SERVED_JSON]
_SERVED_SCHEMA = """
CREATE TABLE IF NOT EXISTS served (
    id INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    api_key TEXT,
    router TEXT NOT NULL,
    artefact TEXT,
    operating_point TEXT,
    query_hash TEXT NOT NULL,
    query_text TEXT,
    messages TEXT,
    routed_model TEXT,
    model TEXT,
    fallbacks TEXT,
    status INTEGER NOT NULL,
    error TEXT,
    answer TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost REAL,
    latency REAL,
    route_latency REAL,
    upstream_latency REAL,
    stream INTEGER,
    shadow_model TEXT,
    shadow_answer TEXT,
    shadow_cost REAL,
    shadow_error TEXT,
    metadata TEXT
);
CREATE INDEX IF NOT EXISTS served_by_key ON served (api_key);
CREATE TABLE IF NOT EXISTS served_spend (
    api_key TEXT PRIMARY KEY,
    usd REAL NOT NULL
);
"""
#: What one served record costs its key: the answer and the shadow call.
_SPENT = "SUM(IFNULL(cost, 0) + IFNULL(shadow_cost, 0))"

@contextlib.contextmanager
def store_for_command(path: str | os.PathLike[str] | None = None) -> Iterator[Store]:
    """The store of a write command (import, collect). When the command fails and this call
    made the file, the file goes again if no bench was stored in it: a refused run leaves no
    empty store behind."""
    target = Path(path) if path is not None else default_store_path()
    created = not target.exists()
    store = Store(target)
    try:
        yield store
    except BaseException:
        empty = False
        with contextlib.suppress(Exception):
            empty = created and not store.bench_names()
        store.close()
        if empty:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(OSError):
                    Path(str(target) + suffix).unlink()
        raise
    else:
        store.close()
