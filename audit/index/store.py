"""The index file: one SQLite database.

Why SQLite and not parquet: `check --index` looks up a handful of ancestors by repo id, and must work without
the `scale` extra (pyarrow, dask). SQLite is in the standard library, answers a primary-key lookup without
reading the file, and updates rows in place, which is what an incremental rebuild needs. The build writes it
from the driver in one transaction (a million rows in seconds); the Dask stage produces the rows.

Tables:
- `meta` (key, value): `schema` (SCHEMA), `built` (ISO date of the last build), `tool` (mlaudit version),
  `sources` (JSON: each dump's locator, sha256 and row count, per build), `name`.
- `models`, one row per model: `key` (lower-case id), `id`, `author`, `created`, `modified`, `card_sha1`,
  `license` (JSON: expression, keys, status, declared, acknowledged keys, declarations [kind, value, keys,
  line, field]), `bases` (JSON: the declared bases, [id, via, line, field] each), `relation` (to the declared
  bases, else to inferred ones), `tiers` (JSON: when nothing is declared, the card's inferred bases in tiers,
  strongest first, each [id, via, confidence, note, [[file, line, field] ...]]), and the closure's answers:
  `inferred` (JSON: the inferred bases the closure follows, the tier the resolver's pick_tier chose, same form),
  `effective` (JSON keys), `conflicts` (JSON [[inherited key, ancestor it comes from]]), `depth`, `unknown`
  (a base of it or of an ancestor is not in the index), `cycle`, `chain_conflict` (it or an ancestor conflicts).

Schema history: mlaudit.index/1 had no `tiers` nor `inferred` (declared bases only); an index of another schema
is refused with a "rebuild" error, never read (its rows would lack the inferred edges `check` follows).
- `errors` (source, row, id, message): rows that failed to parse, listed, never fatal.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from audit.errors import InputUnreadable, UsageError

SCHEMA = "mlaudit.index/2"

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    key TEXT PRIMARY KEY, id TEXT NOT NULL, author TEXT, created TEXT, modified TEXT, card_sha1 TEXT,
    license TEXT NOT NULL, bases TEXT NOT NULL, relation TEXT, tiers TEXT NOT NULL DEFAULT '[]', inferred TEXT,
    effective TEXT, conflicts TEXT, depth INTEGER, unknown INTEGER, cycle INTEGER, chain_conflict INTEGER
);
CREATE TABLE IF NOT EXISTS errors (source TEXT, row INTEGER, id TEXT, message TEXT NOT NULL);
"""
ROW_COLUMNS = ("key", "id", "author", "created", "modified", "card_sha1", "license", "bases", "relation", "tiers")


class IndexFileError(UsageError):
    """The --index file (or `index stats` argument) is not an mlaudit index of this schema. Exit code 2."""


@dataclass(frozen=True, slots=True)
class IndexMeta:
    path: str
    name: str
    schema: str
    built: str
    tool: str
    sources: tuple[dict[str, Any], ...]

    @property
    def locator(self) -> str:
        """How evidence names this index: index:<name>@<build date>."""
        return f"index:{self.name}@{self.built}"


def _connect(path: str, *, create: bool) -> sqlite3.Connection:
    if not create and not os.path.isfile(path):
        raise InputUnreadable(path, "no such index file (build one with `mlaudit index build`)")
    try:
        conn = sqlite3.connect(path, check_same_thread=False)
        if create:
            conn.executescript(_DDL)
        conn.execute("SELECT 1 FROM meta LIMIT 1")
    except sqlite3.DatabaseError as exc:
        raise IndexFileError(path, f"not an mlaudit index ({exc})") from None
    return conn


class IndexStore:
    """An open index. Reads are thread-safe (one lock around the connection: the resolver's pool shares it)."""

    def __init__(self, path: str, *, create: bool = False):
        self.path = path
        self._conn = _connect(path, create=create)
        self._lock = threading.Lock()
        if not create:
            self.meta = self.read_meta()

    # -- metadata ---------------------------------------------------------------------------------------
    def read_meta(self) -> IndexMeta:
        with self._lock:
            values = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        if values.get("schema") != SCHEMA:
            raise IndexFileError(self.path, f"index schema {values.get('schema')!r}, this mlaudit reads {SCHEMA!r}: "
                                            "rebuild it from the card dumps with `mlaudit index build` into a new "
                                            "file (an older index lacks the inferred bases `check` follows)")
        name = values.get("name") or os.path.splitext(os.path.basename(self.path))[0]
        return IndexMeta(self.path, name, SCHEMA, values.get("built", ""), values.get("tool", ""),
                         tuple(json.loads(values.get("sources", "[]"))))

    def write_meta(self, values: dict[str, str]) -> None:
        self._conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", sorted(values.items()))

    # -- rows -------------------------------------------------------------------------------------------
    def get(self, repo_id: str) -> dict[str, Any] | None:
        """One model's row (JSON columns decoded), or None."""
        with self._lock:
            cur = self._conn.execute("SELECT * FROM models WHERE key = ?", (repo_id.strip().lower(),))
            row = cur.fetchone()
            names = [d[0] for d in cur.description]
        if row is None:
            return None
        out = dict(zip(names, row))
        for col in ("license", "bases", "tiers", "inferred", "effective", "conflicts"):
            out[col] = json.loads(out[col]) if out.get(col) else None
        return out

    def fingerprints(self) -> dict[str, tuple[str | None, str | None]]:
        """key -> (modified, card_sha1) of every row: what an incremental rebuild compares against."""
        with self._lock:
            return {k: (m, h) for k, m, h in self._conn.execute("SELECT key, modified, card_sha1 FROM models")}

    def upsert(self, rows: Iterable[Sequence[Any]]) -> int:
        """Insert or replace rows given in ROW_COLUMNS order; the closure columns are recomputed later."""
        cols = ", ".join(ROW_COLUMNS)
        marks = ", ".join("?" for _ in ROW_COLUMNS)
        with self._lock:
            cur = self._conn.executemany(f"INSERT OR REPLACE INTO models ({cols}) VALUES ({marks})", rows)
            return cur.rowcount

    def graph_rows(self) -> list[tuple[Any, ...]]:
        """(key, id, license JSON, bases JSON, tiers JSON, inferred, effective, conflicts, depth, unknown, cycle,
        chain_conflict)."""
        with self._lock:
            return self._conn.execute("SELECT key, id, license, bases, tiers, inferred, effective, conflicts, depth, "
                                      "unknown, cycle, chain_conflict FROM models").fetchall()

    def set_closure(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """(inferred JSON, effective JSON, conflicts JSON, depth, unknown, cycle, chain_conflict, key) per changed
        row."""
        with self._lock:
            self._conn.executemany("UPDATE models SET inferred = ?, effective = ?, conflicts = ?, depth = ?, "
                                   "unknown = ?, cycle = ?, chain_conflict = ? WHERE key = ?", rows)

    def add_errors(self, errors: Iterable[tuple[str, int, str | None, str]]) -> None:
        with self._lock:
            self._conn.executemany("INSERT INTO errors (source, row, id, message) VALUES (?, ?, ?, ?)", errors)

    def clear_errors(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM errors")

    def errors(self, limit: int | None = None) -> list[tuple[str, int, str | None, str]]:
        sql = "SELECT source, row, id, message FROM errors ORDER BY source, row"
        with self._lock:
            return self._conn.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()

    def count(self, table: str = "models") -> int:
        if table not in ("models", "errors"):
            raise ValueError(table)
        with self._lock:
            return int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def rows_for_stats(self) -> list[tuple[Any, ...]]:
        """(license JSON, bases JSON, relation, conflicts JSON, unknown, chain_conflict, inferred JSON) of every row."""
        with self._lock:
            return self._conn.execute(
                "SELECT license, bases, relation, conflicts, unknown, chain_conflict, inferred FROM models").fetchall()

    def commit(self) -> None:
        with self._lock:
            self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> IndexStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
