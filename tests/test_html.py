"""--format html: escaped against hostile cards, and rendered in a real browser (headless Chromium over the
DevTools pipe, tests/chromium.py): no console errors, the verdict and the lineage graph in the DOM, readable
at phone width, printable. Screenshots are kept under the test's tmp dir and copied to $MLAUDIT_ARTIFACTS."""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from chromium import Chromium, find

import audit
from audit.model import AuditReport
from audit.report.html import hub_line_url

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "models"

EVIL_NAME = 'x"><img src=x onerror=alert(1)>'
EVIL_CARD = (
    "---\n"
    "license: <script>alert(2)</script>\n"
    "license_name: '\"><img src=x onerror=alert(3)>'\n"
    "base_model: '\"><svg onload=alert(4)>/m'\n"
    "datasets:\n- '<script>alert(5)</script>'\n- \"acme/\\e[31mred\\e[0m\\a\"\n"
    "---\n"
    "# <script>alert(6)</script>\n\n"
    "bell \x07 and \x1b[31mred\x1b[0m, see https://github.com/a/b\"><script>alert(7)</script>\n\n"
    "## Limitations\n\n<iframe src=x></iframe>\n"
)


def _evil_report(tmp_path: Path) -> AuditReport:
    model = tmp_path / EVIL_NAME
    model.mkdir()
    (model / "README.md").write_text(EVIL_CARD, encoding="utf-8")
    report = audit.audit([str(model)], offline=True, models_dirs=[str(tmp_path / "none")])
    # an inferred edge too, so the browser test sees one drawn dashed
    m = report.models[0]
    ancestors = tuple(replace(a, inferred=True, confidence=0.6) for a in m.lineage.ancestors)
    return replace(report, models=(replace(m, lineage=replace(m.lineage, ancestors=ancestors)),))


def test_hostile_card_content_is_inert(tmp_path):
    out = audit.render(_evil_report(tmp_path), "html")
    assert isinstance(out, str)
    lowered = out.lower()
    for tag in ("<script", "<img", "<iframe", "<svg onload"):
        assert tag not in lowered, tag
    tags = re.sub(r'"[^"]*"', '""', out)  # attribute values hold escaped text; look at the markup around them
    assert not re.search(r"<[^>]*\son\w+=", tags)
    assert "\x1b" not in out and "\x07" not in out
    assert "acme/\\x1b[31mred\\x1b[0m\\x07" in out  # visible, not interpreted
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in out or "alert(2)" not in out
    assert 'x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;' in out  # the subject, escaped in text and attributes
    # the card cannot choose a URL: the only links are in-page anchors
    assert set(re.findall(r'href="([^"#][^"]*)"', out)) == set()


def test_self_contained_and_registered():
    from audit.report import FORMATS

    assert FORMATS["html"] == "html"
    out = audit.render(audit.audit([str(EXAMPLES)], offline=True), "html")
    assert isinstance(out, str)
    assert "Content-Security-Policy" in out and "default-src 'none'" in out
    # nothing to fetch: no src attributes, no stylesheet or script links, no url() in the CSS
    assert not re.search(r"\ssrc=|<link|url\(|@import", out)


def test_hub_evidence_links_to_the_card_line():
    from audit.model import Origin

    o = Origin("hub", "org/model", "a" * 40, "README.md", 7)
    assert hub_line_url(o) == f"https://huggingface.co/org/model/blob/{'a' * 40}/README.md#L7"
    assert hub_line_url(Origin("local", "/tmp/x", None, "README.md", 7)) is None
    assert hub_line_url(Origin("registry", "org/model", None, "audit/licenses/data/registry/models.yaml", 7)) is None
    assert hub_line_url(Origin("hub", "javascript:alert(1)", None, "README.md", 7)) is None
    assert hub_line_url(Origin("hub", "org/model", "x y", "a b#c.md", None)) == \
        "https://huggingface.co/org/model/blob/main/a%20b%23c.md"


# --- in a real browser --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    binary = find()
    if binary is None:
        pytest.skip("Chromium is not installed (.ci/run installs Debian's `chromium` package; set MLAUDIT_CHROMIUM "
                    "to use another binary)")
    with Chromium(binary) as b:
        yield b


def _keep(path: Path) -> None:
    artifacts = os.environ.get("MLAUDIT_ARTIFACTS")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(path, os.path.join(artifacts, path.name))


_GRAPH = """JSON.stringify({
  verdict: document.getElementById('verdict').dataset.verdict,
  heading: document.querySelector('#verdict h1').textContent,
  models: [...document.querySelectorAll('section.model')].map(s => ({
    subject: s.dataset.subject, verdict: s.dataset.verdict,
    nodes: [...s.querySelectorAll('svg .node')].map(n => [n.dataset.subject, n.dataset.license,
                                                           n.classList.contains('conflict')]),
    edges: [...s.querySelectorAll('svg .edge')].map(e => [e.dataset.from, e.dataset.to,
                                                           getComputedStyle(e).strokeDasharray !== 'none']),
    openness: s.querySelector('.openness-class').textContent,
    checklist: s.querySelectorAll('ul.checklist input[type=checkbox]').length,
  })),
  active: document.querySelectorAll('script,img,iframe,object,embed').length,
})"""


def test_examples_render_in_chromium(browser, tmp_path):
    import json

    report = audit.audit([str(EXAMPLES)], offline=True)
    page = tmp_path / "examples.html"
    page.write_text(audit.render(report, "html"), encoding="utf-8")
    browser.viewport(1000, 800)
    browser.open(page.as_uri())
    assert browser.errors() == []
    dom = json.loads(browser.evaluate(_GRAPH))
    assert dom["verdict"] == ("passed" if report.passed else "failed")
    assert dom["heading"] == f"mlaudit: {dom['verdict'].upper()}"
    assert dom["active"] == 0
    conflicted = {f.subject for f in report.findings if f.check == "lineage-conflict"}
    assert conflicted, "the examples include a lineage conflict"
    for m, seen in zip(report.models, dom["models"]):
        assert seen["subject"] == m.subject and seen["verdict"] == ("pass" if m.passed else "fail")
        subjects = [m.subject] + list(dict.fromkeys(a.subject for a in m.lineage.ancestors))
        assert [n[0] for n in seen["nodes"]] == subjects
        assert [[e[0], e[1]] for e in seen["edges"]] == [[a.parent, a.subject] for a in m.lineage.ancestors]
        assert [e[2] for e in seen["edges"]] == [a.inferred for a in m.lineage.ancestors]  # dashed iff inferred
        assert seen["nodes"][0][2] is (m.subject in conflicted)
        assert seen["checklist"] == sum(1 for o in report.obligations if o.subject == m.subject)
        assert m.openness is not None and "MOF class" in seen["openness"]
    llama = next(s for s in dom["models"] if s["subject"].endswith("llama-3.1-8b-support-apache"))
    assert ["meta-llama/Llama-3.1-8B-Instruct", "llama3.1", True] in llama["nodes"]  # the ancestor it conflicts with
    shot = tmp_path / "mlaudit-examples.png"
    shot.write_bytes(browser.screenshot())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _keep(shot)
    # a phone: nothing wider than the screen (tables and the graph scroll inside their box)
    browser.viewport(390, 844, mobile=True)
    browser.open(page.as_uri())
    assert browser.evaluate("document.documentElement.scrollWidth") <= 390
    phone = tmp_path / "mlaudit-examples-phone.png"
    phone.write_bytes(browser.screenshot())
    _keep(phone)
    # and in print
    assert browser.pdf()[:5] == b"%PDF-"
    assert browser.errors() == []


def test_hostile_card_stays_text_in_chromium(browser, tmp_path):
    import json

    report = _evil_report(tmp_path)
    page = tmp_path / "hostile.html"
    page.write_text(audit.render(report, "html"), encoding="utf-8")
    browser.viewport(1000, 800)
    browser.open(page.as_uri())
    # a script that ran or an image that tried to load would be a CSP violation in the log
    assert browser.errors() == []
    dom = json.loads(browser.evaluate(_GRAPH))
    assert dom["active"] == 0
    assert browser.evaluate("document.querySelector('section.model h2').textContent").endswith(EVIL_NAME)
    (model,) = dom["models"]
    assert len(model["edges"]) == 1 and model["edges"][0][2] is True  # the inferred edge is dashed
    assert model["nodes"][1][0] == '"><svg onload=alert(4)>/m'
    shot = tmp_path / "mlaudit-hostile.png"
    shot.write_bytes(browser.screenshot())
    _keep(shot)


def test_hub_findings_link_to_their_card_lines_and_waivers_show():
    from test_formats import FT, FT_REV, LLAMA, sample_report

    out = audit.render(sample_report(), "html")
    assert isinstance(out, str)
    assert f'href="https://huggingface.co/{FT}/blob/{FT_REV}/README.md#L3"' in out
    assert f"https://huggingface.co/{LLAMA}/blob/" in out  # evidence read from an ancestor links to its card
    assert 'class="finding warning waived"' in out and "Waiver:</span> internal-only | not distributed &lt;" in out
    # models built outside the pipeline (openness None) still render, without an openness section
    assert out.count('<section class="model"') == 3 and "<h3>Openness</h3>" not in out
