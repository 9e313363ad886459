"""Shared fixtures: a fake Hugging Face Hub on 127.0.0.1 and a throw-away HF home, so no test touches the
network or ~/.cache/huggingface."""
from __future__ import annotations

import os

# huggingface_hub reads these once, at import: set them before any test imports it. Telemetry would make the
# client fetch https://huggingface.co/api/agent-harnesses (network) and write under the real HF_HOME.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import pytest
from hubserver import FakeHub

_HF_ENV = (
    "HF_HOME",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HF_ENDPOINT",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "XDG_CACHE_HOME",
)


@pytest.fixture
def hf_home(tmp_path, monkeypatch):
    """A fresh HF_HOME (with HF_HUB_CACHE = HF_HOME/hub) and no Hub settings inherited from the environment."""
    for name in _HF_ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "hf-home"
    (home / "hub").mkdir(parents=True)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    return home


@pytest.fixture
def fake_hub(hf_home):
    """A started FakeHub (see tests/hubserver.py); `.url` is its endpoint. Stopped after the test."""
    with FakeHub() as hub:
        yield hub
