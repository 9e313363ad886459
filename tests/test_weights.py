"""Weight-file headers (audit/sources/weights.py): GGUF key-value pairs and safetensors __metadata__, read
bounded, from small synthetic files built here byte by byte (the formats are little-endian and documented)."""
from __future__ import annotations

import json
import struct

import pytest

from audit.api import Options, audit
from audit.sources.weights import HeaderError, read_gguf_header, read_safetensors_metadata

_T_UINT32, _T_STRING, _T_ARRAY, _T_UINT64 = 4, 8, 9, 10


def _s(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def _kv(key: str, value) -> bytes:
    if isinstance(value, str):
        return _s(key) + struct.pack("<I", _T_STRING) + _s(value)
    if isinstance(value, int):
        return _s(key) + struct.pack("<I", _T_UINT32) + struct.pack("<I", value)
    if isinstance(value, list):  # an array of strings
        return _s(key) + struct.pack("<IIQ", _T_ARRAY, _T_STRING, len(value)) + b"".join(_s(v) for v in value)
    raise TypeError(value)


def gguf(path, pairs: dict, tensor_bytes: int = 4096) -> str:
    """A GGUF v3 file: header, the key-value pairs, then bytes standing for tensor data."""
    body = b"".join(_kv(k, v) for k, v in pairs.items())
    with open(path, "wb") as fh:
        fh.write(b"GGUF" + struct.pack("<IQQ", 3, 1, len(pairs)) + body + b"\0" * tensor_bytes)
    return str(path)


def safetensors(path, metadata: dict | None, tensor_bytes: int = 4096) -> str:
    header = {"w": {"dtype": "F32", "shape": [tensor_bytes // 4], "data_offsets": [0, tensor_bytes]}}
    if metadata is not None:
        header["__metadata__"] = metadata
    raw = json.dumps(header).encode()
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw + b"\0" * tensor_bytes)
    return str(path)


LLAMA_GGUF = {
    "general.architecture": "llama",
    "general.name": "Support Bot 8B",
    "general.license": "llama3.1",
    "general.base_model.count": 1,
    "general.base_model.0.name": "Llama 3.1 8B Instruct",
    "general.base_model.0.organization": "Meta Llama",
    "general.base_model.0.repo_url": "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct",
    "tokenizer.ggml.tokens": [f"tok{i}" for i in range(2000)],
}


def test_gguf_header_reads_general_keys_and_skips_the_rest(tmp_path):
    fields = read_gguf_header(gguf(tmp_path / "m.gguf", LLAMA_GGUF))
    assert fields["general.license"] == "llama3.1"
    assert fields["general.base_model.0.repo_url"].endswith("meta-llama/Llama-3.1-8B-Instruct")
    assert "tokenizer.ggml.tokens" not in fields


def test_header_reads_are_bounded(tmp_path):
    big = gguf(tmp_path / "big.gguf", {"general.name": "x" * 5000})
    with pytest.raises(HeaderError):
        read_gguf_header(big, budget=1024)
    with pytest.raises(HeaderError):
        read_gguf_header(safetensors(tmp_path / "not.gguf", {}))
    st = tmp_path / "huge.safetensors"
    st.write_bytes(struct.pack("<Q", 10**12) + b"{}")  # a header length no reader should trust
    with pytest.raises(HeaderError):
        read_safetensors_metadata(str(st))

    deep = tmp_path / "deep.safetensors"
    raw = b"[" * 200_000 + b"]" * 200_000  # nested past what the JSON decoder recurses into
    deep.write_bytes(struct.pack("<Q", len(raw)) + raw)
    with pytest.raises(HeaderError):
        read_safetensors_metadata(str(deep))


def test_safetensors_metadata(tmp_path):
    meta = read_safetensors_metadata(safetensors(tmp_path / "m.safetensors", {"format": "pt", "license": "mit"}))
    assert meta == {"format": "pt", "license": "mit"}
    assert read_safetensors_metadata(safetensors(tmp_path / "n.safetensors", None)) == {}


def _model(tmp_path, card: str, files: dict) -> str:
    d = tmp_path / "acme--support-bot-gguf"
    d.mkdir()
    (d / "README.md").write_text(card, encoding="utf-8")
    for name, (kind, arg) in files.items():
        (gguf if kind == "gguf" else safetensors)(d / name, arg)
    return str(d)


def test_a_gguf_header_names_the_base_a_card_does_not_declare(tmp_path):
    d = _model(tmp_path, "---\nlicense: apache-2.0\n---\n# Support bot\n", {"support-bot.Q4_K_M.gguf": ("gguf", LLAMA_GGUF)})
    report = audit([d], None, options=Options(offline=True, cache_dir=str(tmp_path / "cache")))
    (m,) = report.models
    anc = m.lineage.ancestors[0]
    assert anc.subject == "meta-llama/Llama-3.1-8B-Instruct" and anc.inferred and anc.via == "weights-base"
    assert anc.confidence == 0.9 and anc.evidence[0].file == "support-bot.Q4_K_M.gguf"
    assert anc.evidence[0].field == "general.base_model.0.repo_url"
    checks = {f.check for f in report.findings}
    # the header contradicts the card's license, and the base it names is Llama 3.1: apache-2.0 drops its terms
    assert "license-weights-mismatch" in checks and "lineage-conflict" in checks
    assert m.provenance["weight_headers"][0]["license_keys"] == ["llama3.1"]


def test_a_header_agreeing_with_the_card_is_no_finding(tmp_path):
    card = "---\nlicense: llama3.1\nbase_model: meta-llama/Llama-3.1-8B-Instruct\n---\n# Support bot\n"
    d = _model(tmp_path, card, {"support-bot.Q4_K_M.gguf": ("gguf", LLAMA_GGUF),
                                "model.safetensors": ("safetensors", {"format": "pt"})})
    report = audit([d], None, options=Options(offline=True, cache_dir=str(tmp_path / "cache")))
    assert "license-weights-mismatch" not in {f.check for f in report.findings}
    assert {h["format"] for h in report.models[0].provenance["weight_headers"]} == {"gguf", "safetensors"}

