"""SPDX expressions built as objects (audit.licenses.expression)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import AuditError
from audit.licenses import expression as spdx
from audit.licenses.catalog import catalog
from audit.licenses.normalize import decide, resolve_id
from audit.model import Declaration, Origin


def test_every_catalog_id_parses_to_itself():
    for lic in catalog().all():
        assert str(spdx.parse(lic.spdx)) == lic.spdx, lic.key
        assert spdx.keys_of(lic.spdx) == (catalog().lookup(lic.spdx),)


def test_ids_come_out_in_the_catalog_spelling():
    assert str(spdx.parse("apache-2.0 and mit")) == "Apache-2.0 AND MIT"
    assert str(spdx.parse("licenseref-llama3.1")) == "LicenseRef-llama3.1"


def test_and_keeps_order_drops_repeats_and_flattens():
    assert spdx.and_(["MIT", None, "", "Apache-2.0", "mit"]) == "MIT AND Apache-2.0"
    assert spdx.and_(["MIT AND Apache-2.0", "Apache-2.0 AND LicenseRef-llama3.1"]) == (
        "MIT AND Apache-2.0 AND LicenseRef-llama3.1")
    # an OR inside an AND keeps its brackets: the string is never a plain join
    assert spdx.and_(["MIT OR Apache-2.0", "LicenseRef-llama3.1"]) == "(MIT OR Apache-2.0) AND LicenseRef-llama3.1"
    assert spdx.and_(["LicenseRef-gemma"]) == "LicenseRef-gemma"
    assert spdx.and_([None, ""]) is None
    assert spdx.and_(["LicenseRef-llama3.1", spdx.NOASSERTION]) == "LicenseRef-llama3.1 AND NOASSERTION"


def test_or_and_simplify():
    assert spdx.or_(["MIT", "Apache-2.0", "MIT"]) == "MIT OR Apache-2.0"
    assert spdx.or_(["MIT AND Apache-2.0", "BSD-3-Clause"]) == "(MIT AND Apache-2.0) OR BSD-3-Clause"
    assert spdx.simplify("MIT AND Apache-2.0 AND MIT") == spdx.simplify("Apache-2.0 AND MIT")


def test_keys_of_reads_catalog_keys_in_order():
    assert spdx.keys_of("LicenseRef-llama3.1 AND (MIT OR Apache-2.0)") == ("llama3.1", "mit", "apache-2.0")
    assert spdx.keys_of("GPL-2.0 WITH Classpath-exception-2.0") == ("gpl-2.0",)
    assert spdx.keys_of("LicenseRef-llama3.1 AND NOASSERTION") == ("llama3.1",)
    with pytest.raises(spdx.ExpressionError, match="LicenseRef-nobody-knows"):
        spdx.keys_of("MIT AND LicenseRef-nobody-knows")


def test_of_keys_drops_companion_documents_when_asked():
    assert spdx.of_keys(["llama3.1", "llama3.1-aup"]) == "LicenseRef-llama3.1 AND LicenseRef-llama3.1-aup"
    assert spdx.of_keys(["llama3.1", "llama3.1-aup"], drop_companions=True) == "LicenseRef-llama3.1"
    assert spdx.of_keys(["no-such-key"]) is None


@pytest.mark.parametrize("text", ["", "AND", "mit and (", "(((", "MIT OR OR Apache-2.0"])
def test_a_bad_expression_is_an_error_naming_it(text):
    with pytest.raises(spdx.ExpressionError) as info:
        spdx.parse(text)
    assert isinstance(info.value, AuditError)
    assert info.value.input == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("()aAndoOrRwWiItThH-.+ 0123456789MITmit")), max_size=40))
def test_parse_raises_only_expression_error(text):
    try:
        expr = spdx.parse(text)
    except spdx.ExpressionError:
        return
    # what parses renders to text that parses to the same expression
    assert spdx.parse(str(expr)) == expr


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["MIT", "Apache-2.0", "LicenseRef-llama3.1", "MIT OR BSD-3-Clause", None]), max_size=6))
def test_and_is_idempotent_and_each_part_appears_once(parts):
    once = spdx.and_(parts)
    assert spdx.and_([once, once]) == once
    if once is not None:
        assert spdx.and_([once]) == once
        for part in filter(None, parts):
            assert str(spdx.parse(part)) in once


def test_normalize_renders_expressions_through_the_catalog():
    # duplicated ids in a declared expression come out once, in the catalog's spelling
    assert resolve_id("mit AND apache-2.0 AND MIT") == (("mit", "apache-2.0"), "MIT AND Apache-2.0")
    o = Origin("card", "m")
    # two files naming licenses with the same SPDX id give that id once
    decls = [Declaration("license-file", "x", ("llama3.1",), o.at(file="LICENSE")),
             Declaration("license-file", "y", ("llama3.1-aup", "mit"), o.at(file="USE_POLICY.md"))]
    assert decide(decls).expression == "LicenseRef-llama3.1 AND MIT"
