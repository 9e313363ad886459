"""How much each kind of lineage evidence is trusted: the one table in data/confidence.yaml, loaded once."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

DATA_FILE = os.path.join(os.path.dirname(__file__), "data", "confidence.yaml")


@lru_cache(maxsize=1)
def _table() -> tuple[float, dict[str, tuple[float, str, bool]]]:
    import yaml

    with open(DATA_FILE, encoding="utf-8") as fh:
        data: Any = yaml.load(fh.read(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    rows = {}
    for via, row in (data.get("evidence") or {}).items():
        conf = row.get("confidence") if isinstance(row, dict) else None
        if not isinstance(conf, (int, float)) or not 0 <= conf <= 1:
            raise ValueError(f"{DATA_FILE}: {via}: confidence must be a number in [0, 1]")
        gate = row.get("gates", False)
        if not isinstance(gate, bool):
            raise ValueError(f"{DATA_FILE}: {via}: gates must be true or false")
        rows[str(via)] = (float(conf), str(row.get("what") or via), gate)
    return float(data["weak_below"]), rows


def confidence(via: str) -> float:
    """The confidence of one kind of evidence (a KeyError names a kind the table lacks: a bug)."""
    return _table()[1][via][0]


def what(via: str) -> str:
    """The kind of evidence, in words."""
    row = _table()[1].get(via)
    return row[1] if row else via


def weak(conf: float) -> bool:
    """Below the table's `weak_below`: weak evidence, which never overrides a declared license."""
    return conf < _table()[0]


def gates(via: str) -> bool:
    """Does a finding resting on this kind of inferred evidence keep its severity (the table's `gates`)?"""
    row = _table()[1].get(via)
    return bool(row and row[2])
