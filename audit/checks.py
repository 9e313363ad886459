"""The check registry: every built-in check id, what it means, how the default policy grades it, and
the function that emits it.

Check ids are a stable contract: policies grade them (`check:` or a rule whose id is the check id),
reports name them, policies/README.md documents them. tests/test_checks.py holds this table to the
code: every `Evidence("...")` id emitted in audit/ is registered here, every entry's `emitted_by`
really emits it, and policies/README.md documents exactly these ids.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from audit.errors import UsageError

# Kept importable from here: callers imported them from audit.checks before the registry took the name.
from audit.licenses.checks import BLOCKING_PROBLEMS, license_evidence
from audit.model import Severity


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    description: str  # one sentence: when the check fires (the text policies/README.md shows)
    default_severity: Severity  # what audit/policy/default.yaml grades it at (recommended, where it has no rule)
    emitted_by: tuple[str, ...]  # every "module:function" that emits Evidence with this id
    remediation: str | None = None  # what to do about it, unless the policy rule says otherwise
    # The fail-closed floor: evidence of this check is never graded below this severity, whatever the policy's
    # rules say, unless the policy lowers it explicitly (`allow: {check-id: severity}`). None: no floor.
    floor: Severity | None = None


class UnknownCheck(UsageError):
    """A check id that is not in the registry (a typo in a policy, a renamed check)."""

    def __init__(self, check_id: str):
        super().__init__(check_id, "not a built-in check (see policies/README.md for the list)")
        self.check_id = check_id


_E, _W, _N = Severity.ERROR, Severity.WARNING, Severity.NOTE
_LICENSE = ("audit.licenses.checks:license_evidence",)
_DATASETS = ("audit.datasets:dataset_evidence",)
_PROVENANCE = ("audit.provenance:provenance_evidence",)
_OPENNESS = ("audit.openness:openness_evidence",)
_LOCK = ("audit.postprocess.lock:verify", "audit.postprocess.lock:_newer_evidence")

_TABLE: tuple[Check, ...] = (
    Check("license-unknown", "The model's own license could not be determined, or names a family rather than one "
          "license.", _E, _LICENSE,
          "Find the license that governs the weights (card, LICENSE file, base model) and declare it; "
          "until then do not deploy.", floor=_E),
    Check("license-conflict", "The model's own sources (license, license_name, license_link, Hub tag) disagree, or a "
          "license file in the repo limits use (non-commercial, research-only) where the card's license does not.",
          _E, _LICENSE,
          "Ask the publisher which license applies and fix the card so license, license_name and "
          "license_link agree.", floor=_E),
    Check("license-file-mismatch", "A license file in the repo names a different license than the card declares.",
          _W, _LICENSE,
          "Check which license governs the weights; the repo file and the card must agree."),
    Check("license-weights-mismatch", "A weight file's own header (GGUF general.license / general.base_model, "
          "safetensors __metadata__) names another license or base model than the card.", _W, _PROVENANCE,
          "Check which is right: the header is written when the weights are converted, the card may have been "
          "edited since (or the other way round)."),
    Check("license-body-mismatch", "A license statement in the card body names a different license than the front "
          "matter.", _W, _LICENSE),
    Check("license-statement-conflict", "The card body, the gating prompt or a USE_POLICY file says this model's "
          "weights are under another license (in a sentence, or by a license's name alone at the top of a License "
          "section), or limits them to non-commercial or research use (in words, or by naming a license that does: "
          "'License: CC-BY-NC-4.0', a badge), against the "
          "declared license.", _E, _LICENSE,
          "Ask the publisher which terms govern the weights; downgrade this check only once someone has read "
          "the statement and decided."),
    Check("license-statement-intended-use", "The card says this model is intended for non-commercial or research "
          "use only (a statement of intended use, as in an 'Intended uses' section), while its license sets no such "
          "limit.", _W, _LICENSE,
          "Read the statement: intent is not a license term, but ask the publisher if you mean to use the model "
          "otherwise."),
    Check("card-duplicate-key", "The card's front matter gives a key more than once, so YAML readers disagree about "
          "its value.", _E, _LICENSE, "Fix the card so every key is given once."),
    Check("license-text-modified", "A license file is a modified, truncated, translated or stub copy of a known "
          "license.", _W, _LICENSE,
          "Read the changed clauses: a modified license is a different license."),
    Check("license-text-unknown", "A license-like file in the repo is not a license text we recognise.", _W, _LICENSE,
          "Have the text reviewed; it is not a license mlaudit knows."),
    Check("license-text-missing", "The card's license_link points to a file of the repo that the snapshot does not "
          "hold: the license is the one the card names, but its text could not be read or compared.", _E, _LICENSE,
          "Get the linked file from the publisher's repo (or audit the whole snapshot) and check it is the license "
          "the card names; you must ship that text with copies of the model.", floor=_E),
    Check("license-text-not-shipped", "The card's license_link points to a file the snapshot does not hold, but the "
          "license the card names is the one an ancestor it declares carries, or the one mlaudit's registry records for "
          "the repo itself: the license is very likely that one, but the text the card points at was not read, so it "
          "still fails closed (this replaces license-text-missing; a policy may lower it on purpose, with allow, "
          "apart from an uncorroborated missing text).", _E,
          ("audit.lineage.checks:text_not_shipped_evidence",),
          "Get the linked file (the ancestor's repo has the license text) and ship it with every copy of the model you "
          "distribute; ask the publisher to add it.", floor=_E),
    Check("card-missing", "The model has no model card.", _W, _LICENSE),
    Check("card-problem", "The model card has problems (malformed fields, British spelling, list-valued license, no front "
          "matter, a front matter after HTML comments, which the Hub does not read but mlaudit does).",
          _N, _LICENSE),
    Check("lineage-conflict", "The declared license drops terms that an ancestor imposes on derivatives.", _E, ("audit.lineage.checks:conflict_evidence",),
          "Treat the model as governed by its ancestor's license as well, and comply with both.", floor=_E),
    Check("license-undeclared-derivative", "The model declares no license while the license it inherits from its "
          "ancestors is known: their terms govern it, but its own changes carry no license. A bare license: other is "
          "not \"no license\" (it says terms exist, named nowhere): that is license-unknown.", _W,
          ("audit.lineage.checks:missing_license_evidence",),
          "Comply with the ancestors' licenses, and ask the publisher to declare a license for the model itself."),
    Check("lineage-license-history", "An ancestor's license changed over time and the model's date does not say "
          "which side of the change it falls on; the finding names the date that decides it.", _W,
          ("audit.lineage.checks:history_evidence",),
          "Find when the model was made (the Hub's createdAt or its first commit); before the change the "
          "ancestor's earlier license governs it."),
    Check("lineage-same-licensor", "An ancestor's terms stop at a descendant that its own licensor (the same Hub "
          "org) released under another license; reported so the relicensing is visible.", _N,
          ("audit.lineage.checks:same_licensor_evidence",)),
    Check("lineage-possible-base", "A base inferred from weak evidence (a family in the tags or the name) is set "
          "aside because the model declares its own license, or, when it declares none, does not make its license "
          "known (license-unknown stands); reported as a possible base with its evidence.", _N,
          ("audit.lineage.checks:possible_base_evidence", "audit.lineage.checks:missing_license_evidence")),
    Check("lineage-missing-license", "The model declares no license, and the licenses of its ancestors are unknown.",
          _W, ("audit.lineage.checks:missing_license_evidence",),
          "Comply with the ancestors' licenses; ask the publisher to declare one."),
    Check("lineage-unknown-ancestor", "An ancestor could not be found or its license could not be determined.",
          _E, ("audit.lineage.checks:unknown_ancestor_evidence",),
          "Find the ancestor's license (or point --models-dir at a local copy) before deploying."),
    Check("lineage-name-prefix", "The model's name does not start with the prefix an ancestor's license requires.",
          _W, ("audit.lineage.checks:name_prefix_evidence",)),
    Check("lineage-cycle", "The base_model chain loops back on itself or is too deep.", _E, ("audit.lineage.checks:cycle_evidence",)),
    Check("dataset-license", "A training dataset's license is non-commercial, research-only or otherwise "
          "restrictive.", _W, _DATASETS),
    Check("dataset-unknown", "A training dataset's license could not be determined.", _N, _DATASETS),
    # provenance-unpinned and provenance-author fire only when a policy asks for them (settings
    # require_pinned, allowed_authors): the default policy has no rule for them, so the gate's floor applies
    Check("provenance-unpinned", "The model was not read at a pinned commit.", _E, _PROVENANCE),
    Check("provenance-unsafe-format", "The repo ships pickle-based weights (.bin/.pt/.ckpt/.pkl) that run code when "
          "loaded.", _W, _PROVENANCE),
    Check("provenance-remote-code", "The repo ships custom code that trust_remote_code would run.", _W, _PROVENANCE),
    Check("provenance-integrity", "A file does not match the hash the Hub, the cache or mlaudit.lock recorded.",
          _E, _PROVENANCE + ("audit.postprocess.lock:_file_evidence",)),
    Check("card-not-read", "The model was audited offline from mlaudit's registry of well-known models: its own "
          "card and files were not read.", _N, ("audit.snapshot_checks:registry_evidence",)),
    Check("file-unreadable", "A license-like file of the model (LICENSE, NOTICE, USE_POLICY ...) could not be read: "
          "too big, not a regular file, unreadable, or a link leaving the snapshot. Its terms are unknown, so the "
          "audit fails closed.", _E, ("audit.snapshot_checks:unread_evidence",), floor=_E),
    Check("provenance-author", "The model's author or organization is not on the policy's allow-list.", _E,
          _PROVENANCE),
    Check("provenance-gated", "The model is gated: its terms must be accepted on the Hub.", _N, _PROVENANCE),
    Check("license-drift", "The license differs from the one mlaudit.lock recorded: the locked files changed, or the "
          "locked branch or tag now points to a revision under another license.", _E, _LOCK),
    # openness-below-class and training-data-undisclosed fire only when a policy asks for them (settings
    # min_openness_class, require_training_data), like provenance-unpinned
    Check("openness-below-class", "The model's Model Openness Framework class (from its weights, code, data, "
          "documentation and paper) is below the policy's min_openness_class, or cannot be decided.", _E, _OPENNESS,
          "Pick a model that opens what the policy requires, or ask the publisher to release the missing parts."),
    Check("training-data-undisclosed", "The model card names no training dataset (no datasets field in its front "
          "matter) and the policy's require_training_data asks for one.", _E, _OPENNESS,
          "Ask the publisher to name the training data, or pick a model that does."),
    Check("reference-unresolved", "The code loads a model whose id cannot be known without running it (a function "
          "parameter, an environment variable, an f-string), so it cannot be audited.", _E,
          ("audit.api:reference_findings",)),
)

CHECKS: Mapping[str, Check] = MappingProxyType({c.id: c for c in _TABLE})
# check id -> floor severity, for the checks a policy may never drop silently (audit.policy.floor applies it)
FLOORS: Mapping[str, Severity] = MappingProxyType({c.id: c.floor for c in _TABLE if c.floor is not None})


def check(check_id: str) -> Check:
    """The registered check with this id; UnknownCheck (a UsageError naming the id) when there is none."""
    try:
        return CHECKS[check_id]
    except KeyError:
        raise UnknownCheck(check_id) from None


__all__ = ["BLOCKING_PROBLEMS", "CHECKS", "FLOORS", "Check", "UnknownCheck", "check", "license_evidence"]
