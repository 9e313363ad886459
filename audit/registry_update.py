"""`mlaudit registry update` and the registry's writer: refresh a user copy from the Hub, write entries.

Apart from audit.registry because it is the one part that talks to the Hub and writes: the registry itself
only reads files and answers questions about them.
"""
from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import yaml

from audit.errors import AuditError
from audit.licenses.catalog import catalog
from audit.registry import (
    EVIDENCE_DATE,
    Change,
    Entry,
    forget_loaded,
    load_file,
    load_registry,
    user_registry_dir,
)


class ModelInfoSource(Protocol):
    """What the update needs of a Hub client (audit.sources.hub.HubClient is one)."""

    def model_info(self, repo_id: str) -> Mapping[str, Any]: ...


def update_user_registry(hub: ModelInfoSource, ids: Iterable[str] | None = None, directory: str | None = None,
                         max_workers: int = 8) -> tuple[str, list[Entry], list[str]]:
    """Read each model's license from the Hub and write the user copy.

    ids default to every model the registry knows. An entry whose license changed since the known one gets a
    license_history line dated today. Returns (file written, entries written, one line per id that failed)."""
    current = load_registry()
    wanted = list(dict.fromkeys(ids if ids is not None else (e.id for e in current.models.values())))
    today = _dt.date.today().isoformat()

    def one(repo_id: str) -> Entry | str:
        try:
            info = hub.model_info(repo_id)
        except AuditError as exc:
            return f"{repo_id}: {exc.message}"
        return _hub_entry(repo_id, info, current.model(repo_id), today)

    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        results = list(pool.map(one, wanted))
    entries = [r for r in results if isinstance(r, Entry)]
    errors = [r for r in results if isinstance(r, str)]
    path = os.path.join(directory or user_registry_dir(), "models.yaml")
    entries_out = entries
    if os.path.exists(path):  # keep what the user copy already had for ids not refreshed now
        kept = {e.id.lower(): e for e in load_file(path) if e.kind == "model"}
        kept.update({e.id.lower(): e for e in entries})
        entries_out = list(kept.values())
    write_entries(path, entries_out, (), note=f"user copy written by `mlaudit registry update` on {today}")
    return path, entries, errors


def _declared_license(info: Mapping[str, Any]) -> str | None:
    """The license a model's Hub metadata declares: the card's, else its license: tag; 'other/<name>' when named."""
    card = info.get("cardData") or {}
    lic = card.get("license")
    if isinstance(lic, list):
        lic = lic[0] if lic else None
    if lic is None:
        tags = info.get("tags") or ()
        lic = next((t.split(":", 1)[1] for t in tags if isinstance(t, str) and t.startswith("license:")), None)
    name = card.get("license_name")
    return f"other/{name}" if lic in (None, "other") and name else lic


def _hub_entry(repo_id: str, info: Mapping[str, Any], old: Entry | None, today: str) -> Entry:
    """The registry entry for a model from its Hub metadata, keeping what the known entry says that the Hub does not."""
    declared = _declared_license(info)
    key = catalog().lookup(declared.removeprefix("other/")) if declared else None
    bases = [b.get("id") for b in info.get("base_models") or () if isinstance(b, dict) and b.get("id")]
    history = tuple(old.history) if old else ()
    if old is not None and (old.key != key or old.license != declared) and old.license:
        history += (Change(today, old.license, old.key, str(declared), key, "mlaudit registry update"),)
    return Entry(
        id=info.get("id") or repo_id, kind="model", key=key, license=declared,
        family=old.family if old else None,
        relation_to=bases[0] if bases else (old.relation_to if old else None),
        confidence="high", evidence=f"Hub model info at {str(info.get('sha'))[:12]}",
        evidence_date=today, history=history,
    )


def write_entries(path: str, models: Iterable[Entry], datasets: Iterable[Entry] = (), note: str | None = None) -> None:
    """Write entries in the registry format (used by tools/build_registry.py and `registry update`)."""
    def as_dict(e: Entry) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": e.id,
            "key": e.key,
            "license": e.license,
            "family": e.family,
            "relation_to": e.relation_to,
            "confidence": e.confidence,
            "evidence": e.evidence,
            "evidence_date": e.evidence_date,
        }
        if e.also:
            d["also"] = list(e.also)
        if e.unresolved:
            d["unresolved"] = e.unresolved
        if e.history:
            d["license_history"] = [
                {"date": c.date, "from": c.from_license, "from_key": c.from_key, "to": c.to_license,
                 "to_key": c.to_key, "source": c.source}
                for c in e.history
            ]
        return d

    data: dict[str, Any] = {"schema": 1}
    if note:
        data["note"] = note
    data["evidence_date"] = EVIDENCE_DATE
    models = list(models)
    datasets = list(datasets)
    if models:
        data["models"] = [as_dict(e) for e in sorted(models, key=lambda e: e.id.lower())]
    if datasets:
        data["datasets"] = [as_dict(e) for e in sorted(datasets, key=lambda e: e.id.lower())]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        yaml.safe_dump(data, fh, sort_keys=False, allow_unicode=True, width=120)
    os.replace(tmp, path)
    forget_loaded()  # a registry loaded before may have read the file just replaced
