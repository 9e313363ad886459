"""The index as an ancestor source of the Resolver (between the local sources and the Hub).

A row becomes a lineage Node: its license facts (declarations with the card line and field they came from),
its declared bases, else the inferred bases the build picked for it (inferred, with the confidence, note and
card lines `check` would give them: the resolver follows them as it follows a Hub model's inferred bases), its
relation, its creation date. Evidence names the row: the origin's locator is
`index:<name>@<build date>`, its file the model id (the row), its line and field those of the card.
Standard library only: `check --index` needs neither Dask nor pyarrow.
"""
from __future__ import annotations

from typing import Any

from audit.index.store import IndexMeta, IndexStore
from audit.lineage.candidates import Candidate
from audit.lineage.dates import parse_date
from audit.lineage.resolver import Node
from audit.model import Declaration, LicenseFacts, Origin, Relation, SourceKind, Status

_RELATIONS = frozenset(r.value for r in Relation)


class IndexSource:
    """Looks models up in an index file; thread-safe (the store serialises its reads)."""

    def __init__(self, path: str):
        self.store = IndexStore(path)
        self.meta: IndexMeta = self.store.meta

    def node(self, repo_id: str) -> Node | None:
        """The Node for a repo id, or None when the index does not hold it."""
        row = self.store.get(repo_id.split("@", 1)[0])
        if row is None:
            return None
        return row_node(row, self.meta)

    def close(self) -> None:
        self.store.close()


def row_node(row: dict[str, Any], meta: IndexMeta) -> Node:
    origin = Origin(SourceKind.INDEX, meta.locator, file=row["id"])
    lic = row["license"] or {}
    decls = tuple(Declaration(kind, value, tuple(keys), origin.at(line=line, field=fld))
                  for kind, value, keys, line, fld in lic.get("decls") or ())
    facts = LicenseFacts(decls, lic.get("expression"), tuple(lic.get("keys") or ()),
                         Status(lic.get("status") or "unknown"), reason=f"from the lineage index {meta.locator}")
    bases = tuple(Candidate(bid, via or "base_model", False, 1.0, (origin.at(line=line, field=fld or "base_model"),))
                  for bid, via, line, fld in row["bases"] or ())
    if not bases:  # the inferred bases the build picked (its card declares none), with their evidence and confidence
        bases = tuple(Candidate(cid, via, True, float(conf), tuple(origin.at(line=line, field=fld) for _f, line, fld
                                                                   in where) or (origin,), note)
                      for cid, via, conf, note, where in row.get("inferred") or ())
    relation = Relation(row["relation"]) if row.get("relation") in _RELATIONS else None
    return Node(row["id"], SourceKind.INDEX, facts, bases=bases, relation=relation,
                relation_origin=origin.at(field="base_model_relation") if relation else None, origin=origin,
                date=parse_date(row.get("created")))
