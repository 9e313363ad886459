"""Lineage: ancestors from the registry, the card body and a fake Hub; inheritance; findings.

Real cards come from tests/fixtures/cards (copied from the shared corpus; see tests/fixtures/cards/SOURCES.md).
Hub tests run against tests/hubserver.py through huggingface_hub's real client.
"""
from __future__ import annotations

import os
from dataclasses import replace

import yaml

from audit.card import parse_card
from audit.licenses.catalog import catalog
from audit.licenses.normalize import license_facts
from audit.lineage import (
    Resolver,
    card_date_floor,
    effective_license,
    find_bases,
    infer_relation,
    lineage_evidence,
    resolve_lineage,
    resolve_many,
)
from audit.model import Origin, RepoFile, Snapshot, Status
from audit.sources.hub import HubClient

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "cards")


def card_of(text: str, path: str = "/tmp/x/README.md"):
    return parse_card(text, Origin("local", path, file=path))


def audit_card(text: str, resolver: Resolver | None = None, subject: str = "/tmp/model", snapshot: Snapshot | None = None):
    card = card_of(text)
    facts = license_facts(card, snapshot)
    resolver = resolver or Resolver()
    lin = resolve_lineage(subject, card, facts, snapshot, resolver)
    eff = effective_license(subject, facts, lin)
    ev = lineage_evidence(subject, card, facts, lin, eff)
    return facts, lin, eff, ev


def checks(ev) -> list[str]:
    return sorted(e.check for e in ev)


def fm(**fields) -> str:
    return "---\n" + yaml.safe_dump(fields, sort_keys=False) + "---\n"


# -- registry-based lineage, no network --------------------------------------------------------------------------
def test_apache_on_llama31_finetune_is_a_conflict_and_llama_governs():
    facts, lin, eff, ev = audit_card(fm(license="apache-2.0", base_model="meta-llama/Llama-3.1-8B") + "# Llama-tuned\n")
    assert [a.subject for a in lin.ancestors] == ["meta-llama/Llama-3.1-8B"]
    assert lin.ancestors[0].resolved_from == "registry" and not lin.ancestors[0].inferred
    assert "lineage-conflict" in checks(ev)
    conflict = next(e for e in ev if e.check == "lineage-conflict")
    assert conflict.data["ancestor_key"] == "llama3.1" and not conflict.inferred
    assert eff.keys == ("llama3.1",) and eff.sources["llama3.1"] == "meta-llama/Llama-3.1-8B"


def test_mit_on_gemma_and_gpl_on_llama2_are_conflicts():
    for lic, base, key in (("mit", "google/gemma-2-9b", "gemma"), ("gpl-3.0", "meta-llama/Llama-2-7b-hf", "llama2")):
        _, _, eff, ev = audit_card(fm(license=lic, base_model=base))
        assert any(e.check == "lineage-conflict" and e.data["ancestor_key"] == key for e in ev), (lic, base)
        assert key in eff.keys


def test_cc_by_nc_on_llama2_is_a_conflict_but_keeps_its_restriction():
    _, _, eff, ev = audit_card(fm(license="cc-by-nc-4.0", base_model="meta-llama/Llama-2-7b-hf"))
    assert "lineage-conflict" in checks(ev)
    assert set(eff.keys) == {"llama2", "cc-by-nc-4.0"}  # non-commercial still binds users


def test_relicensing_a_permissive_base_is_not_a_conflict():
    _, lin, eff, ev = audit_card(fm(license="cc-by-nc-4.0", base_model="mistralai/Mistral-7B-v0.1"))
    assert lin.ancestors[0].license.keys == ("apache-2.0",)
    assert "lineage-conflict" not in checks(ev)
    assert eff.keys == ("cc-by-nc-4.0",)


def test_same_license_as_the_base_is_not_a_conflict():
    _, _, eff, ev = audit_card(fm(license="llama3.1", base_model="meta-llama/Llama-3.1-8B-Instruct") + "# Llama-3.1-x\n")
    assert checks(ev) == []
    assert eff.keys == ("llama3.1",)


def test_no_license_inherits_every_base_license():
    facts, lin, eff, ev = audit_card(fm(base_model="mistralai/Mistral-7B-v0.1"))
    assert eff.keys == ("apache-2.0",) and eff.inferred_from_ancestors
    # the inherited license is known: its own check, not license-unknown nor lineage-missing-license
    missing = [e for e in ev if e.check == "license-undeclared-derivative"]
    assert missing and "apache-2.0" in missing[0].message
    assert not [e for e in ev if e.check == "lineage-missing-license"]


def test_declared_but_unreadable_license_is_not_replaced_by_the_bases():
    # 'other' pointing at a file we do not have: we cannot know the license, so we do not assume the base's
    _, _, eff, ev = audit_card(fm(license="other", license_link="LICENSE", base_model="mistralai/Mistral-7B-v0.1"))
    assert eff.keys == () and not eff.inferred_from_ancestors
    assert "NOASSERTION" in (eff.expression or "")


def test_publisher_license_on_top_of_a_base_is_layered_not_a_conflict():
    # a custom license (no SPDX/Hub id) adds terms; the base's license still governs beside it
    _, _, eff, ev = audit_card(fm(license="other", license_name="microsoft-research-license",
                                  base_model="meta-llama/Llama-2-13b-hf"))
    assert "lineage-conflict" not in checks(ev)
    assert set(eff.keys) == {"msr-license", "llama2"}


def test_registry_relation_chain_is_followed():
    # R1-Distill-Llama-8B is MIT but derived from Llama 3.1 8B: both govern a fine-tune of it
    _, lin, eff, ev = audit_card(fm(license="apache-2.0", base_model="deepseek-ai/DeepSeek-R1-Distill-Llama-8B"))
    assert [(a.subject, a.depth) for a in lin.ancestors] == [
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", 1), ("meta-llama/Llama-3.1-8B", 2)]
    assert set(eff.keys) == {"mit", "llama3.1"}
    assert eff.sources["llama3.1"] == "meta-llama/Llama-3.1-8B"


def test_reupload_name_resolves_by_registry_name_and_is_inferred():
    _, lin, eff, ev = audit_card(fm(license="apache-2.0", base_model="someone/Meta-Llama-3.1-8B-Instruct-bnb-4bit"))
    first = lin.ancestors[0]
    assert first.inferred and first.confidence < 1 and first.license.keys == ("llama3.1",)
    assert first.relation == "finetune"
    conflict = next(e for e in ev if e.check == "lineage-conflict")
    # the card declares this base, and its name names the weights (a re-upload's): the conflict gates
    # (confidence.yaml: registry-name gates), unlike one resting on a base read from prose
    assert not conflict.inferred
    _, _, _, ev = audit_card(fm(license="apache-2.0") + "This model is a fine-tune of someone/Meta-Llama-3.1-8B-Instruct-bnb-4bit.\n")
    assert next(e for e in ev if e.check == "lineage-conflict").inferred


def test_a_term_of_an_inherited_license_gates_as_surely_as_the_lineage_it_comes_through(tmp_path):
    from audit.api import Options, audit

    def run(text):
        d = tmp_path / f"m{len(list(tmp_path.iterdir()))}"
        d.mkdir()
        (d / "README.md").write_text(text)
        report = audit([str(d)], None, options=Options(offline=True, cache_dir=str(tmp_path / "cache")))
        return report.models[0], {f.rule: f.severity.value for f in report.findings}

    # declares nothing, declared base under CC-BY-NC: the model is non-commercial for certain, and fails
    m, sev = run("---\nbase_model: CohereForAI/aya-expanse-8b\n---\n# chat\n")
    assert sev["non-commercial"] == "error" and not m.passed
    # declares apache-2.0, the NC base only read from prose: the term informs, like the conflict found that way
    m, sev = run("---\nlicense: apache-2.0\n---\n# styles\n\nThis is a LoRA for SDXL Turbo.\n")
    assert sev["non-commercial"] == "warning" and sev["lineage-conflict"] == "warning"


def test_a_conflict_through_a_machine_written_base_keeps_its_severity(tmp_path):
    # adapter_config.json names the base of a PEFT adapter whose card declares none: that gates like base_model
    d = tmp_path / "adapter"
    d.mkdir()
    (d / "README.md").write_text("---\nlicense: apache-2.0\nlibrary_name: peft\n---\n# adapter\n")
    (d / "adapter_config.json").write_text('{"base_model_name_or_path": "meta-llama/Llama-2-7b-hf", "peft_type": "LORA"}')
    from audit.api import Options, audit

    report = audit([str(d)], None, options=Options(offline=True, cache_dir=str(tmp_path / "c")))
    conflict = next(f for f in report.findings if f.check == "lineage-conflict")
    assert conflict.severity.value == "error" and not report.models[0].passed


def test_unknown_ancestor_fails_closed():
    _, lin, eff, ev = audit_card(fm(license="mit", base_model="nobody/never-published-xyz"))
    unk = [e for e in ev if e.check == "lineage-unknown-ancestor"]
    assert unk and unk[0].unknown and not unk[0].inferred
    assert lin.ancestors[0].license is None and lin.ancestors[0].problem


def test_name_prefix_for_llama31_derivative():
    text = fm(license="llama3.1", base_model="meta-llama/Llama-3.1-8B", model_name="SuperChat-8B")
    _, _, eff, ev = audit_card(text)
    prefix = [e for e in ev if e.check == "lineage-name-prefix"]
    assert prefix and prefix[0].data["prefix"].lower().startswith("llama")
    ok = fm(license="llama3.1", base_model="meta-llama/Llama-3.1-8B", model_name="Llama-3.1-SuperChat-8B")
    assert "lineage-name-prefix" not in checks(audit_card(ok)[3])


def test_time_dependent_base_license_follows_the_card_date():
    # Yi: Yi license until 2024, then Apache-2.0. A card that says it was trained in 2023: the Yi license applies.
    old = fm(license="apache-2.0", base_model="01-ai/Yi-34B") + "Trained in December 2023.\n"
    _, lin, eff, ev = audit_card(old)
    assert "lineage-conflict" in checks(ev)
    assert lin.ancestors[0].license.keys != ("apache-2.0",)
    assert "changed over time" in lin.ancestors[0].license.reason
    new = fm(license="apache-2.0", base_model="01-ai/Yi-34B") + "Released 2025-06-01.\n"
    _, lin2, eff2, ev2 = audit_card(new)
    assert lin2.ancestors[0].license.keys == ("apache-2.0",)
    assert "lineage-conflict" not in checks(ev2)


def test_an_undated_derivative_of_a_relicensed_base_is_a_history_finding_not_a_conflict():
    # phi-2: Microsoft Research License until early 2024-01 (by the 6th), then MIT. A card citing only a 2020
    # paper cannot be dated.
    undated = fm(license="mit", base_model="microsoft/phi-2") + "@article{x,\n  year = {2020}\n}\n"
    _, lin, eff, ev = audit_card(undated)
    assert "lineage-conflict" not in checks(ev) and eff.keys == ("mit",)
    hist = [e for e in ev if e.check == "lineage-license-history"]
    assert hist and hist[0].data["date"] == "2024-01-01..2024-01-06" and hist[0].data["from"] == "msr-license"
    assert "between 2024-01-01 and 2024-01-06" in hist[0].message and hist[0].data["conflict_if_before"]
    assert lin.ancestors[0].history and lin.ancestors[0].to_dict()["license_history"][0]["from"] == "msr-license"
    # dated by the Hub: decided, no history finding
    snap = Snapshot("x/y", Origin("hub", "x/y"), info={"createdAt": "2023-12-20T00:00:00Z"})
    card = card_of(undated)
    facts = license_facts(card, snap)
    lin = resolve_lineage("x/y", card, facts, snap, Resolver())
    ev = lineage_evidence("x/y", card, facts, lin, effective_license("x/y", facts, lin))
    assert "lineage-conflict" in checks(ev) and "lineage-license-history" not in checks(ev)


def test_a_change_known_to_have_happened_by_a_day_decides_a_model_made_later_that_month():
    from audit.registry import date_bounds

    assert [str(d) for d in date_bounds("2024-01-01..2024-01-06")] == ["2024-01-01", "2024-01-06"]
    assert [str(d) for d in date_bounds("2024-01")] == ["2024-01-01", "2024-01-31"]
    assert date_bounds("2024-02..2024-01") == (None, None)  # backwards: no date, which is undecided
    # Transformers 4.37.0 came out on 2024-01-22: after phi-2's change, which derivatives followed on 2024-01-06
    _, _, eff, ev = audit_card(fm(license="mit", base_model="microsoft/phi-2")
                               + "### Framework versions\n\n- Transformers 4.37.0\n")
    assert eff.keys == ("mit",) and "lineage-license-history" not in checks(ev)


def test_the_library_versions_a_model_names_date_it_from_below():
    # a version cannot be used before PyPI published it (releases.yaml): transformers 4.38.2 came out in
    # 2024-03, after phi-2's 2024-01 relicensing, so a card listing it is decided; 4.36.2 (2023-12) decides nothing
    from audit.lineage.dates import dating, release_date

    assert str(release_date("Transformers", "4.38.2")) == "2024-03-01"
    assert str(release_date("Pytorch", "2.1.0+cu121")) == str(release_date("torch", "2.1.0"))
    assert release_date("transformers", "4.38.0.dev0") == release_date("transformers", "4.37.2")  # a dev build
    assert release_date("transformers", "9.9.9") is None and release_date("no-such-lib", "1.0") is None
    base = fm(license="mit", base_model="microsoft/phi-2") + "### Framework versions\n\n- Transformers {v}\n- Pytorch 2.1.0\n"
    _, _, eff, ev = audit_card(base.format(v="4.38.2"))
    assert "lineage-license-history" not in checks(ev) and "lineage-conflict" not in checks(ev)
    _, _, _, ev = audit_card(base.format(v="4.36.2"))
    hist = next(e for e in ev if e.check == "lineage-license-history")
    assert "Transformers 4.36.2, published 2023-12-" in hist.message
    # the files name versions too: config.json's transformers_version
    snap = Snapshot("/m", Origin("local", "/m"), texts={"config.json": '{"transformers_version": "4.38.2"}'})
    card = card_of(fm(license="mit", base_model="microsoft/phi-2"))
    d = dating(card, snap)
    assert str(d.floor) == "2024-03-01" and "config.json transformers_version" in d.why
    # sentence-transformers' template writes 'Framework Versions' and 'Name: version'
    st = card_of(fm(license="mit") + "### Framework Versions\n- Python: 3.10.12\n- Sentence Transformers: 3.0.1\n")
    assert str(dating(st, None).floor) == "2024-06-07"
    # a version line outside the framework-versions section dates nothing
    assert dating(card_of(fm(license="mit") + "- Transformers 4.38.2\n"), None).floor is None


def test_the_release_dates_file_is_well_formed():
    import datetime as dt

    from audit.lineage.dates import RELEASES_FILE

    with open(RELEASES_FILE, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert {"transformers", "peft", "trl", "diffusers", "sentence-transformers", "torch"} <= set(data)
    for lib, versions in data.items():
        assert versions and all(isinstance(v, str) for v in versions), lib
        assert all(dt.date.fromisoformat(d) >= dt.date(2020, 1, 1) for d in versions.values()), lib


def test_card_date_floor_reads_iso_months_and_arxiv():
    card = card_of("---\nlicense: mit\n---\nSee arxiv.org/abs/2311.03099 and the 2024-02-03 update, March 2023.\n")
    assert str(card_date_floor(card)) == "2024-02-03"


# -- inference from the card and the files ------------------------------------------------------------------------
def test_body_inference_of_a_family_and_a_linked_base():
    text = fm(license="wtfpl") + "# Model\n\nThis model is a fine-tuned version of Llama 2 on chat data.\n"
    _, lin, eff, ev = audit_card(text)
    assert [a.subject for a in lin.ancestors][:1] == ["family:llama2"]
    assert lin.ancestors[0].inferred and lin.ancestors[0].evidence[0].line == 6
    assert "lineage-conflict" in checks(ev) and eff.keys == ("llama2",)

    linked = fm(license="mit") + "\nFinetuned from [Mistral](https://huggingface.co/mistralai/Mistral-7B-v0.1).\n"
    _, lin, eff, ev = audit_card(linked)
    assert lin.ancestors[0].subject == "mistralai/Mistral-7B-v0.1" and lin.ancestors[0].inferred


def test_body_mentions_that_are_not_lineage_are_ignored():
    text = fm(license="apache-2.0") + (
        "# Ours\n\nOur model outperforms Llama 2 70B on every benchmark.\n"
        "It uses the same architecture as Llama but is not a derivative of Llama.\n"
        "We plan a future version based on Gemma-7B.\n"
        "| Llama-2-13B | 54.8 |\n")
    _, lin, eff, ev = audit_card(text)
    assert lin.ancestors == ()
    assert eff.keys == ("apache-2.0",)


def test_config_and_adapter_config_name_the_base():
    snap = Snapshot("/tmp/a", Origin("local", "/tmp/a"), files=(RepoFile("adapter_config.json"),),
                    texts={"adapter_config.json": '{"base_model_name_or_path": "meta-llama/Llama-2-7b-hf"}'})
    declared, tiers = find_bases("/tmp/a", None, snap)
    assert [c.id for c in declared] == ["meta-llama/Llama-2-7b-hf"] and declared[0].via == "adapter_config"
    assert infer_relation(None, snap, 1, "/tmp/a")[0] == "adapter"
    cfg = Snapshot("/tmp/b", Origin("local", "/tmp/b"),
                   texts={"config.json": '{"_name_or_path": "google/gemma-2-9b", "model_type": "gemma2"}'})
    declared, tiers = find_bases("/tmp/b", None, cfg)
    assert not declared and tiers[0][0].id == "google/gemma-2-9b" and tiers[0][0].inferred


def test_relation_inference():
    card = card_of(fm(base_model=["a/x", "b/y"]))
    assert infer_relation(card, None, 2, "me/merged")[0] == "merge"
    gguf = Snapshot("me/q", Origin("hub", "me/q"), files=(RepoFile("model-Q4_K_M.gguf"),))
    assert infer_relation(card_of(fm(base_model="a/x")), gguf, 1, "me/q")[0] == "quantized"
    assert infer_relation(card_of(fm(base_model="a/x")), None, 1, "me/model-AWQ")[0] == "quantized"
    assert infer_relation(card_of(fm(base_model="a/x", base_model_relation="adapter")), None, 1, "me/x")[0] == "adapter"
    assert infer_relation(card_of(fm(base_model="a/x")), None, 1, "me/x")[0] == "finetune"


def test_models_dir_ancestors(tmp_path):
    base = tmp_path / "models" / "acme--base-7b"
    base.mkdir(parents=True)
    (base / "README.md").write_text(fm(license="gemma"))
    mid = tmp_path / "models" / "acme" / "mid-7b"
    mid.mkdir(parents=True)
    (mid / "README.md").write_text(fm(license="gemma", base_model="acme/base-7b"))
    r = Resolver(models_dirs=(str(tmp_path / "models"),), use_registry=False)
    _, lin, eff, ev = audit_card(fm(license="mit", base_model="acme/mid-7b"), r)
    assert [(a.subject, a.resolved_from, a.depth) for a in lin.ancestors] == [
        ("acme/mid-7b", "local", 1), ("acme/base-7b", "local", 2)]
    assert "lineage-conflict" in checks(ev) and "gemma" in eff.keys


# -- corpus labels (acceptance) ------------------------------------------------------------------------------------
def _corpus_verdicts():
    with open(os.path.join(FIXTURES, "labels.yaml"), encoding="utf-8") as fh:
        labels = yaml.safe_load(fh)
    r = Resolver()
    cat = catalog()
    for item in labels["items"]:
        if item["kind"] != "card":
            continue
        path = os.path.join(FIXTURES, item["file"].split("/", 1)[1])  # labels say cards/<id>/README.md
        with open(path, encoding="utf-8") as fh:
            card = parse_card(fh.read(), Origin("local", path, file=path))
        facts = license_facts(card, None)
        subject = os.path.dirname(path)
        lin = resolve_lineage(subject, card, facts, None, r)
        eff = effective_license(subject, facts, lin)
        ev = lineage_evidence(subject, card, facts, lin, eff)
        ours = {k for k in eff.keys if k in cat and not cat[k].ambiguous}
        if not ours or "NOASSERTION" in (eff.expression or "") or any(cat[k].ambiguous for k in eff.keys if k in cat):
            ours |= {"unknown"} if not ours or facts.status is Status.UNKNOWN else set()
        # an undecided license history that would be a conflict before the change (Yi, relicensed in 2024, on
        # cards that state no date of their own) is reported as lineage-license-history, not lineage-conflict;
        # the labels judged those cards "as of the card date", so here they count as the conflict they may be
        undecided = any(e.check == "lineage-license-history" and e.data.get("conflict_if_before") for e in ev)
        yield item, any(e.check == "lineage-conflict" for e in ev), ours, undecided


def test_corpus_labels_agree_at_least_90_percent():
    conflict_ok = conflict_n = eff_ok = eff_n = 0
    for item, conflict, ours, undecided in _corpus_verdicts():
        exp = item["expected"]
        if exp["conflict"] in (True, False):
            conflict_n += 1
            conflict_ok += (conflict or (undecided and exp["conflict"] is True)) == exp["conflict"]
        eff_n += 1
        eff_ok += ours == set(exp["effective_licenses"]) or undecided
    assert conflict_n >= 20 and eff_n >= 25
    assert conflict_ok / conflict_n >= 0.9, (conflict_ok, conflict_n)
    assert eff_ok / eff_n >= 0.9, (eff_ok, eff_n)


# -- the Hub ------------------------------------------------------------------------------------------------------
def hub_client(hub, **kw) -> HubClient:
    kw.setdefault("token", False)
    kw.setdefault("base_delay", 0.001)
    kw.setdefault("max_delay", 0.01)
    kw.setdefault("max_retry_after", 0.05)
    kw.setdefault("timeout", 5)
    return HubClient(endpoint=hub.url, **kw)


def readme(**fields) -> str:
    return fm(**fields) + "# model\n"


def test_hub_four_level_chain(fake_hub):
    fake_hub.add_model("meta-llama/Llama-3.1-8B", {"README.md": readme(license="llama3.1")})
    fake_hub.add_model("lab/ft-one", {"README.md": readme(license="llama3.1", base_model="meta-llama/Llama-3.1-8B")})
    fake_hub.add_model("lab/ft-two", {"README.md": readme(license="llama3.1", base_model="lab/ft-one")})
    fake_hub.add_model("q/ft-two-GGUF", {"README.md": readme(license="apache-2.0", base_model="lab/ft-two"),
                                         "ft-two.Q4_K_M.gguf": b"GGUF"})
    hub = hub_client(fake_hub)
    with Resolver(hub=hub, use_registry=False) as r:
        snap = hub.snapshot("q/ft-two-GGUF")
        card = parse_card(snap.texts["README.md"], snap.origin.at(file="README.md"))
        facts = license_facts(card, snap)
        lin = resolve_lineage("q/ft-two-GGUF", card, facts, snap, r)
        eff = effective_license("q/ft-two-GGUF", facts, lin)
        ev = lineage_evidence("q/ft-two-GGUF", card, facts, lin, eff)
    assert lin.relation == "quantized"
    assert [(a.subject, a.depth, a.resolved_from) for a in lin.ancestors] == [
        ("lab/ft-two", 1, "hub"), ("lab/ft-one", 2, "hub"), ("meta-llama/Llama-3.1-8B", 3, "hub")]
    assert all(a.license.keys == ("llama3.1",) for a in lin.ancestors)
    assert lin.ancestors[0].evidence[-1].revision  # pinned: the ancestor was read at a commit sha
    assert "lineage-conflict" in checks(ev)
    assert eff.keys == ("llama3.1",) and eff.sources["llama3.1"] == "lab/ft-two"


def test_hub_merge_of_two_bases_under_different_licenses(fake_hub):
    fake_hub.add_model("acme/open-7b", {"README.md": readme(license="apache-2.0")})
    fake_hub.add_model("acme/gem-7b", {"README.md": readme(license="gemma")})
    r = Resolver(hub=hub_client(fake_hub), use_registry=False)
    _, lin, eff, ev = audit_card(fm(license="mit", base_model=["acme/open-7b", "acme/gem-7b"]), r, subject="me/merged")
    assert lin.relation == "merge" and {a.relation for a in lin.ancestors} == {"merge"}
    conflicts = [e for e in ev if e.check == "lineage-conflict"]
    assert [c.data["ancestor"] for c in conflicts] == ["acme/gem-7b"]  # Apache-2.0 may be relicensed, Gemma not
    # MIT cannot replace Gemma's terms, so what the bases carry governs the merge
    assert set(eff.keys) == {"apache-2.0", "gemma"} and not eff.inferred_from_ancestors
    _, _, eff2, ev2 = audit_card(fm(base_model=["acme/open-7b", "acme/gem-7b"]), r, subject="me/merged2")
    assert set(eff2.keys) == {"apache-2.0", "gemma"} and eff2.inferred_from_ancestors


def test_hub_cycle_is_stopped_and_reported(fake_hub):
    fake_hub.add_model("loop/a", {"README.md": readme(license="mit", base_model="loop/b")})
    fake_hub.add_model("loop/b", {"README.md": readme(license="mit", base_model="loop/a")})
    r = Resolver(hub=hub_client(fake_hub), use_registry=False)
    _, lin, eff, ev = audit_card(fm(license="mit", base_model="loop/a"), r, subject="me/x")
    assert any(p.code == "lineage-cycle" for p in lin.problems)
    assert "lineage-cycle" in checks(ev)
    assert len(lin.ancestors) == 3  # a, b, and the repeated a marked as the cycle
    assert lin.ancestors[-1].problem == "cycle"
    assert "already in the chain" in next(p.message for p in lin.problems if p.code == "lineage-cycle")


def test_a_card_naming_itself_as_its_base_says_so():
    # fail closed like a cycle (the base it was made from is not declared), in the words of what happened
    _, lin, _, ev = audit_card(fm(license="mit", base_model="acme/Cool-7B"), Resolver(use_registry=False),
                               subject="/tmp/acme--Cool-7B")
    (p,) = [p for p in lin.problems if p.code == "lineage-cycle"]
    assert "names itself (acme/Cool-7B) as its base" in p.message and "lineage-cycle" in checks(ev)


def test_depth_guard(fake_hub):
    for i in range(6):
        fake_hub.add_model(f"deep/m{i}", {"README.md": readme(license="mit", base_model=f"deep/m{i + 1}")})
    fake_hub.add_model("deep/m6", {"README.md": readme(license="mit")})
    r = Resolver(hub=hub_client(fake_hub), use_registry=False, max_depth=3)
    _, lin, eff, ev = audit_card(fm(license="mit", base_model="deep/m0"), r, subject="me/x")
    assert max(a.depth for a in lin.ancestors) == 3
    assert "lineage-cycle" in checks(ev)


def test_hub_missing_ancestor(fake_hub):
    r = Resolver(hub=hub_client(fake_hub), use_registry=False)
    _, lin, eff, ev = audit_card(fm(license="mit", base_model="ghost/model"), r, subject="me/x")
    anc = lin.ancestors[0]
    assert anc.license is None and anc.resolved_from is None and "not found" in anc.problem
    unk = [e for e in ev if e.check == "lineage-unknown-ancestor"]
    assert unk and unk[0].unknown


def test_hub_missing_ancestor_falls_back_to_the_registry(fake_hub):
    r = Resolver(hub=hub_client(fake_hub))
    _, lin, eff, ev = audit_card(fm(license="apache-2.0", base_model="meta-llama/Llama-3.1-8B"), r, subject="me/x")
    assert lin.ancestors[0].resolved_from == "registry" and lin.ancestors[0].license.keys == ("llama3.1",)


def test_hub_gated_ancestor(fake_hub):
    # gated repos keep their metadata public: the license is read without access to the files
    fake_hub.add_model("corp/gated-base", {"README.md": readme(license="llama3")}, gated="manual")
    # a Hub that refuses even the metadata: unknown, with the reason
    refused = fake_hub.add_model("corp/locked", {"README.md": readme(license="llama3")}, gated="manual")
    refused.status, refused.error_code = 403, "GatedRepo"
    r = Resolver(hub=hub_client(fake_hub), use_registry=False)
    _, lin, eff, ev = audit_card(fm(license="llama3", base_model="corp/gated-base"), r, subject="me/x")
    assert lin.ancestors[0].license.keys == ("llama3",) and lin.ancestors[0].resolved_from == "hub"
    assert not [e for e in ev if e.check == "lineage-unknown-ancestor"]
    _, lin, eff, ev = audit_card(fm(license="llama3", base_model="corp/locked"), r, subject="me/y")
    assert lin.ancestors[0].license is None and "gated" in lin.ancestors[0].problem
    assert [e.check for e in ev if e.unknown] == ["lineage-unknown-ancestor"]


def test_hub_429_then_success(fake_hub):
    repo = fake_hub.add_model("busy/base", {"README.md": readme(license="gemma")})
    repo.rate_limit = 2
    r = Resolver(hub=hub_client(fake_hub), use_registry=False)
    _, lin, eff, ev = audit_card(fm(license="gemma", base_model="busy/base"), r, subject="me/x")
    assert lin.ancestors[0].license.keys == ("gemma",)
    api = [q for q in fake_hub.requests_for("busy/base") if q.route.startswith("/api/")]
    assert len(api) == 3  # two 429s, then the answer


def test_prefetch_is_concurrent_and_cached(fake_hub):
    fake_hub.latency = 0.1
    for i in range(8):
        fake_hub.add_model(f"par/m{i}", {"README.md": readme(license="apache-2.0")})
    hub = hub_client(fake_hub)
    r = Resolver(hub=hub, use_registry=False, max_workers=8)
    catalog()
    hub.model_info("par/m0")  # import the client outside the prefetch
    fake_hub.max_in_flight = 0
    r.prefetch([f"par/m{i}" for i in range(8)])
    # 8 requests of 0.1 s each: answered side by side, not one after another
    assert fake_hub.max_in_flight > 1, fake_hub.max_in_flight
    before = len(fake_hub.requests)
    items = []
    for i in range(8):
        card = card_of(fm(license="mit", base_model=f"par/m{i}"))
        items.append((f"me/x{i}", card, license_facts(card, None), None))
    lineages = resolve_many(items, r)
    assert len(fake_hub.requests) == before  # answered from the resolver's cache
    assert all(lin.ancestors[0].license.keys == ("apache-2.0",) for lin in lineages)
    r.close()


# -- training data ------------------------------------------------------------------------------------------------
def test_datasets_from_the_registry():
    from audit.datasets import dataset_evidence, resolve_datasets

    card = card_of(fm(license="mit", datasets=["tatsu-lab/alpaca", "Open-Orca/OpenOrca", "teknium/OpenHermes-2.5",
                                             "nobody/secret-data"]))
    ds = resolve_datasets(card, Resolver())
    by = {d.id: d for d in ds}
    assert by["tatsu-lab/alpaca"].keys == ("cc-by-nc-4.0",) and by["tatsu-lab/alpaca"].resolved_from == "registry"
    assert by["Open-Orca/OpenOrca"].keys == ("mit",)
    assert by["teknium/OpenHermes-2.5"].status is Status.UNKNOWN  # the registry knows it has no license field
    assert by["nobody/secret-data"].resolved_from is None
    ev = dataset_evidence("me/x", ds)
    assert sorted((e.check, e.data["dataset"]) for e in ev) == [
        ("dataset-license", "tatsu-lab/alpaca"), ("dataset-unknown", "nobody/secret-data"),
        ("dataset-unknown", "teknium/OpenHermes-2.5")]
    assert all(e.unknown for e in ev if e.check == "dataset-unknown")
    assert ev[0].origins[0].field == "datasets"


def test_datasets_from_the_hub_and_local_dirs(fake_hub, tmp_path):
    from audit.datasets import dataset_evidence, resolve_datasets

    fake_hub.add_dataset("lab/chat-nc", {"README.md": fm(license="cc-by-nc-sa-4.0")})
    fake_hub.add_dataset("lab/open", {"README.md": fm(license="apache-2.0")})
    local = tmp_path / "dirs" / "lab--local-set"
    local.mkdir(parents=True)
    (local / "README.md").write_text(fm(license="odc-by"))
    r = Resolver(hub=hub_client(fake_hub), use_registry=False, datasets_dirs=(str(tmp_path / "dirs"),))
    card = card_of(fm(license="mit", datasets=["lab/chat-nc", "lab/open", "lab/local-set", "lab/missing"]))
    by = {d.id: d for d in resolve_datasets(card, r)}
    assert (by["lab/chat-nc"].keys, by["lab/chat-nc"].resolved_from) == (("cc-by-nc-sa-4.0",), "hub")
    assert by["lab/open"].keys == ("apache-2.0",)
    assert (by["lab/local-set"].keys, by["lab/local-set"].resolved_from) == (("odc-by",), "local")
    assert by["lab/missing"].status is Status.UNKNOWN
    checks_ = sorted((e.check, e.data["dataset"]) for e in dataset_evidence("me/x", tuple(by.values())))
    assert checks_ == [("dataset-license", "lab/chat-nc"), ("dataset-unknown", "lab/missing")]


def test_ancestor_from_the_hf_cache_without_network(fake_hub, hf_home):
    fake_hub.add_model("acme/cached-base", {"README.md": readme(license="gemma"), "config.json": "{}"})
    hub_client(fake_hub).snapshot("acme/cached-base")  # a download leaves the card in HF_HOME's cache
    fake_hub.stop()  # from here on, no Hub
    r = Resolver(use_cache=True, use_registry=False)
    _, lin, eff, ev = audit_card(fm(license="mit", base_model="acme/cached-base"), r, subject="me/x")
    anc = lin.ancestors[0]
    assert anc.resolved_from == "cache" and anc.license.keys == ("gemma",)
    assert anc.evidence[-1].revision and len(anc.evidence[-1].revision) == 40
    assert "lineage-conflict" in checks(ev)


# -- typed channels --------------------------------------------------------------------------------------------
class _RefusingHub:
    """A Hub client that answers every model_info with one typed error (what audit.sources.hub raises)."""

    def __init__(self, error: Exception):
        self.error = error
        self.asked: list[str] = []

    def model_info(self, repo_id: str, revision: str | None = None, *, input: str | None = None):
        self.asked.append(repo_id)
        raise self.error


def test_a_gated_ancestor_is_known_by_the_error_class_not_the_message():
    from audit.errors import HubGated, HubNotFound

    gated = Resolver(hub=_RefusingHub(HubGated("corp/locked", "access refused")), use_registry=False)
    node = gated.node("corp/locked")
    assert node.facts is None and node.gated and "access refused" in node.problem
    # a missing repo whose name (and so the message) holds the word is not gated
    missing = Resolver(hub=_RefusingHub(HubNotFound("acme/gated-llm", "model acme/gated-llm is not gated, just gone")),
                       use_registry=False)
    node = missing.node("acme/gated-llm")
    assert node.facts is None and not node.gated and "just gone" in node.problem


def test_relations_and_sources_are_typed_and_print_as_their_values():
    from audit.model import Relation, SourceKind

    _, lin, _, _ = audit_card(fm(license="apache-2.0", base_model="deepseek-ai/DeepSeek-R1-Distill-Llama-8B"))
    first, second = lin.ancestors
    assert first.relation is Relation.FINETUNE and first.resolved_from is SourceKind.REGISTRY
    assert second.relation is Relation.FINETUNE and lin.relation is Relation.FINETUNE
    # the text report and --verbose format them into sentences: the value, not 'Relation.FINETUNE'
    assert f"({first.relation}; {first.resolved_from})" == "(finetune; registry)"
    assert infer_relation(card_of(fm(base_model="a/x")), None, 1, "me/model-AWQ")[0] is Relation.QUANTIZED


def test_inheritance_is_computed_once_and_handed_to_both_readers():
    from audit.lineage import inherit

    text = fm(license="apache-2.0", base_model="meta-llama/Llama-3.1-8B")
    card = card_of(text)
    facts = license_facts(card, None)
    lin = resolve_lineage("me/x", card, facts, None, Resolver())
    inh = inherit("me/x", facts, lin)
    assert [k for k, _ in inh.conflicts] == ["llama3.1"] and inh.superseded == ("apache-2.0",)
    eff = effective_license("me/x", facts, lin, inh)
    assert eff == effective_license("me/x", facts, lin) and eff.keys == ("llama3.1",)
    ev = lineage_evidence("me/x", card, facts, lin, eff, inh)
    assert ev == lineage_evidence("me/x", card, facts, lin, eff)
    # what is handed over is what the checks read: an inheritance without conflicts gives no conflict
    calm = replace(inh, conflicts=(), superseded=())
    assert "lineage-conflict" not in checks(lineage_evidence("me/x", card, facts, lin, eff, calm))


def test_the_phrase_tables_are_data():
    from audit.lineage import phrases

    assert os.path.isfile(phrases.DATA_FILE) and phrases.DATA_FILE.endswith(".yaml")
    assert phrases.ANCESTRY.search("This model was fine-tuned from Llama 2.", None)
    assert not phrases.ANCESTRY.search("A recipe for bread.", "a recipe for bread.")
    assert {"gguf", "awq"} <= phrases.QUANTIZED_TAGS and "mergekit" in phrases.MERGE_TAGS
