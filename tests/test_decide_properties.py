"""Fail-closed invariants of normalize.decide, over generated declarations (hypothesis)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.licenses.catalog import catalog
from audit.licenses.expression import of_keys
from audit.licenses.normalize import decide
from audit.model import Declaration, Origin, Status

KINDS = ("front-matter", "license-name", "license-link", "hub-tag", "license-file", "body")
KEYS = ("mit", "apache-2.0", "llama3.1", "llama3.1-aup", "cc-by-nc-4.0", "other", "cc", "gemma")
ORIGIN = Origin("card", "m", file="README.md")


@st.composite
def declarations(draw: st.DrawFn) -> list[Declaration]:
    out = []
    for i in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(KINDS))
        keys = tuple(draw(st.lists(st.sampled_from([k for k in KEYS if k in catalog()]), max_size=2, unique=True)))
        expr = of_keys(keys)
        out.append(Declaration(kind, f"value {i}", keys, ORIGIN.at(line=i + 1), expr))
    return out


@settings(max_examples=300, deadline=None)
@given(declarations())
def test_decide_fails_closed(decls):
    facts = decide(decls)
    cat = catalog()
    front = [d for d in decls if d.kind in ("front-matter", "license-name", "license-link", "hub-tag") and d.keys]
    if facts.status is Status.RESOLVED:
        # resolved means: some licenses, none of them a family name, and no front-matter field contradicts another
        assert facts.keys and facts.expression
        assert not any(cat[k].ambiguous for k in facts.keys)
        assert all(x.b.kind in ("license-file", "body") for x in facts.disagreements)
    if not facts.keys:
        assert facts.status is Status.UNKNOWN and facts.reason
    if front:
        # the front matter decides the keys; repo files and the body are only cross-checked against it
        assert set(facts.keys) == {k for d in front for k in d.keys}
    assert facts.declarations == tuple(decls)
