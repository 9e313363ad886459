"""The command line's settings: options shared by check, scan and lock, merged over the configuration file
(the command line wins), and turned into the library's Options and Policy."""
from __future__ import annotations

import os

import click


def _format_choices() -> list[str]:
    from audit.report import FORMATS

    return list(FORMATS)


# --- options shared by check, scan and lock ----------------------------------------------------------------

# command-line parameter -> configuration key (audit/config.py); the command line wins over the file
_FROM_CONFIG = {
    "policy_path": "policy",
    "fmt": "format",
    "output": "output",
    "writes": "outputs",
    "fail_on": "fail_on",
    "models_dirs": "models_dirs",
    "cache_dir": "cache_dir",
    "offline": "offline",
    "endpoint": "endpoint",
    "baseline": "baseline",
    "exclude": "exclude",
    "lockfile": "lockfile",
    "index_path": "index",  # [index hook]
}


def _options(*decorators):
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


_policy_option = click.option("--policy", "-p", "policy_path", metavar="FILE",
                              help="Policy YAML (default: the built-in default policy).")
_source_options = _options(
    click.option("--models-dir", "models_dirs", multiple=True, metavar="DIR",
                 help="Local snapshot directories where models and their base models can be found. Repeatable."),
    click.option("--cache-dir", metavar="DIR", help="Hugging Face cache directory (default: HF_HUB_CACHE / HF_HOME)."),
    click.option("--offline/--online", default=False,
                 help="Never contact the Hub: Hub models come from --models-dir or the HF cache, ancestors also from "
                      "the offline registry (also set by HF_HUB_OFFLINE)."),
    click.option("--no-lineage", is_flag=True, help="Do not resolve base models."),
    click.option("--endpoint", metavar="URL", help="Hub endpoint (default: HF_ENDPOINT or https://huggingface.co)."),
    click.option("--index", "index_path", metavar="INDEX",  # [index hook]
                 help="A lineage index (`mlaudit index build`): ancestors are looked up there after --models-dir and "
                      "the HF cache, before the Hub, so community chains resolve with no network."),
)
_run_options = _options(
    click.option("--config", "config_path", metavar="FILE",
                 help="Configuration file (default: .mlaudit.yaml or pyproject.toml [tool.mlaudit], searched from the "
                      "current directory up to the git root)."),
    click.option("--no-config", is_flag=True, help="Ignore configuration files."),
    click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line and errors."),
    click.option("--verbose", "-v", is_flag=True, help="Also print, on standard error, each model's license "
                                                       "declarations, ancestors and where each came from."),
)
_report_options = _options(
    _policy_option,
    click.option("--format", "-f", "fmt", type=click.Choice(_format_choices()), default="text", show_default=True),
    click.option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of standard output."),
    click.option("--write", "writes", multiple=True, metavar="FORMAT=FILE",
                 help="Also write the report in FORMAT to FILE (e.g. sarif=mlaudit.sarif). Repeatable."),
    click.option("--fail-on", type=click.Choice(["error", "warning", "note"]),
                 help="Lowest severity that fails the run (default: the policy's fail_on)."),
    click.option("--baseline", metavar="FILE", help="Findings recorded in FILE are reported but do not fail the run."),
    click.option("--write-baseline", metavar="FILE",
                 help="Record every current finding in FILE (then only new findings fail)."),
    click.option("--color/--no-color", "color", default=None,
                 help="Colour the text report (default: on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it)."),
    _source_options,
    _run_options,
)
_lock_options = _options(
    click.option("--locked", is_flag=True,
                 help="Audit the models the lockfile pins, with no network; fail when a file or a license changed."),
    click.option("--lockfile", metavar="FILE", help="The lockfile (default: mlaudit.lock)."),
)


def _config(params: dict):
    from audit.config import discover, load_config

    if params.get("no_config"):
        return None
    if params.get("config_path"):
        return load_config(params["config_path"])
    return discover()


def _settings(ctx: click.Context, params: dict) -> dict:
    """The command line, over the configuration file, over the defaults."""
    from click.core import ParameterSource

    if params.get("quiet") and params.get("verbose"):
        raise click.UsageError("--quiet and --verbose exclude each other")
    cfg = _config(params)
    s = dict(params)
    s["config"] = cfg
    if cfg is not None:
        for name, key in _FROM_CONFIG.items():
            if name in params and key in cfg and ctx.get_parameter_source(name) in (
                ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None
            ):
                s[name] = cfg.get(key)
    if "writes" in s:
        s["writes"] = _parse_writes(s["writes"])
    env_offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    s["offline"] = bool(s.get("offline")) or env_offline
    return s


def _parse_writes(value) -> list[tuple[str, str]]:
    from audit.report import FORMATS

    if isinstance(value, dict):
        return list(value.items())
    out = []
    for item in value or ():
        fmt, sep, path = item.partition("=")
        if not sep or not path or fmt not in FORMATS:
            raise click.BadParameter(f"{item!r}: expected FORMAT=FILE with FORMAT one of {', '.join(FORMATS)}",
                                     param_hint="--write")
        out.append((fmt, path))
    return out


def _policy(s: dict):
    from audit.api import load_policy

    return load_policy(s.get("policy_path"), fail_on=s.get("fail_on"))


def _run_options_for(s: dict, hf_cache: bool = False):
    from audit.api import Options

    return Options(
        hf_cache=hf_cache,
        cache_dir=s.get("cache_dir"),
        models_dirs=tuple(s.get("models_dirs") or ()),
        lineage=not s.get("no_lineage"),
        offline=bool(s["offline"]),
        endpoint=s.get("endpoint"),
        index=s.get("index_path"),  # [index hook]
    )


def _lock_path(s: dict) -> str:
    """--lockfile / -o, else the configuration's lockfile, else mlaudit.lock beside the configuration file
    (so a run from a subdirectory finds the project's lock), else in the current directory."""
    from audit.postprocess.lock import DEFAULT_LOCKFILE

    if s.get("lockfile"):
        return s["lockfile"]
    cfg = s.get("config")
    return os.path.join(os.path.dirname(cfg.path), DEFAULT_LOCKFILE) if cfg is not None else DEFAULT_LOCKFILE


def _own_files(root: str, s: dict) -> tuple[str, ...]:
    """What this run writes, as exclude patterns under root: a report names model URLs, and must not be
    scanned as if it were code on the next run."""
    paths = [s.get("output"), s.get("write_baseline"), s.get("baseline"), _lock_path(s)]
    paths += [p for _, p in s.get("writes") or ()]
    out = []
    real_root = os.path.realpath(root)
    for p in paths:
        if not p or p == "-":
            continue
        rel = os.path.relpath(os.path.realpath(p), real_root)
        if not rel.startswith(os.pardir):
            out.append(rel.replace(os.sep, "/"))
    return tuple(out)


