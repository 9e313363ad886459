"""What the command line prints and writes, and the exit code: the only place (with the commands) that
prints or exits. Every error is one line on standard error naming its input."""
from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INPUT = 0, 1, 2, 3
PROGRESS_MIN_MODELS = 3  # a progress bar only for runs over more models than this (and only on a terminal)


def _err(message: str) -> None:
    """One line on standard error: a name or message from a card or a file cannot add lines or escapes."""
    from audit.report.common import visible

    click.echo(f"mlaudit: {visible(message)}", err=True)


def _fail(exc: Exception) -> NoReturn:
    from audit.errors import AuditError

    if isinstance(exc, AuditError):
        _err(f"{exc.input}: {exc.message}")
        sys.exit(exc.exit_code)
    raise exc


def _stdout_failed(exc: OSError) -> NoReturn:
    """Standard output was closed (a pipe whose reader left) or is full: one line, exit code 2, and no
    second complaint from the interpreter when it flushes stdout at exit."""
    import errno

    why = "no space left" if exc.errno == errno.ENOSPC else "closed" if isinstance(exc, BrokenPipeError) else (
        exc.strerror or str(exc))
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    _err(f"standard output: cannot write the report ({why})")
    sys.exit(EXIT_USAGE)


def _echo(text: str, color: bool | None = None) -> None:
    """Text to standard output. color=True keeps the ANSI styles the renderer chose (click strips them when
    stdout is not a terminal, which FORCE_COLOR and --color override)."""
    try:
        click.echo(text, nl=False, color=color)
        sys.stdout.flush()
    except OSError as exc:
        _stdout_failed(exc)


def _write(text: str, output: str | None, protected: frozenset[str] = frozenset(), color: bool | None = None) -> None:
    if output in (None, "-"):
        _echo(text, color)
        return
    if os.path.realpath(output) in protected:
        _err(f"{output}: not written: it is an input of this run (a report never overwrites what it audits)")
        sys.exit(EXIT_USAGE)
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        _err(f"{output}: cannot write the report ({exc.strerror or exc})")
        sys.exit(EXIT_USAGE)


class _ProgressBar:
    """A progress bar on standard error, only on a terminal and only for runs over PROGRESS_MIN_MODELS inputs."""

    def __init__(self, s: dict, label: str):
        self.enabled = not s.get("quiet") and sys.stderr.isatty()
        self.label = label
        self.bar: Any = None  # a click progress bar while one is shown

    def start(self, total: int) -> None:
        if self.enabled and total > PROGRESS_MIN_MODELS:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()

    def advance(self, spec: str) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _note(s: dict, message: str) -> None:
    if not s.get("quiet"):
        click.echo(message, err=True)


# --- rendering and the exit code -------------------------------------------------------------------------

def _render(report, fmt: str, output: str | None, s: dict) -> str:
    from audit.api import render
    from audit.report import RenderOptions

    to_terminal = output in (None, "-")
    tty = to_terminal and sys.stdout.isatty()
    # errors went to stderr already (_finish): a terminal shows them once, a file keeps them
    options = RenderOptions(color=to_terminal and use_color(s.get("color"), tty), pretty=tty,
                            show_errors=not to_terminal, quiet=bool(s.get("quiet")))
    out = render(report, fmt, options)
    return out if isinstance(out, str) else out.decode("utf-8")


def use_color(flag: bool | None, tty: bool) -> bool:
    """--color/--no-color, else NO_COLOR (any value: no colour), else FORCE_COLOR (any value but 0), else a
    terminal (https://no-color.org and the FORCE_COLOR convention)."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    force = os.environ.get("FORCE_COLOR")
    if force:
        return force != "0"
    return tty


def _verdict_line(report) -> str:
    from audit.api import render
    from audit.report import RenderOptions

    out = render(report, "text", RenderOptions(quiet=True))
    text = out if isinstance(out, str) else out.decode("utf-8")
    return text.strip().splitlines()[-1] if text.strip() else ""


def _verbose(report) -> None:
    """Per model: the declarations and ancestors behind the verdict, each with where it came from."""
    for m in report.models:
        rev = f" @ {m.revision}" if m.revision else ""
        click.echo(f"{m.subject}{rev} ({m.origin.source})", err=True)
        for d in m.license.declarations:
            keys = ", ".join(d.keys) or "unrecognised"
            note = f"; {d.note}" if d.note else ""
            click.echo(f"    declared  {d.kind} {d.value!r} -> {keys}{note}  at {d.origin}", err=True)
        if not m.license.declarations:
            click.echo("    declared  nothing", err=True)
        for a in m.lineage.ancestors:
            keys = ", ".join(a.license.keys) if a.license and a.license.keys else "license unknown"
            how = a.resolved_from or a.problem or "not found"
            where = f"  at {a.evidence[0]}" if a.evidence else ""
            click.echo(f"    ancestor  {'  ' * (a.depth - 1)}{a.subject} ({a.relation}; {keys}; {how}){where}", err=True)
        click.echo(f"    effective {m.effective.expression or ', '.join(m.effective.keys) or 'unknown'}", err=True)
    for r in report.scan.references if report.scan else ():
        what = (r.model + (f"@{r.revision}" if r.revision else "")) if r.model else f"? ({r.reason})"
        click.echo(f"reference {r.file}:{r.line}  {r.kind}  {what}", err=True)


def _finish(report, policy, s: dict) -> NoReturn:
    """Baseline, errors, the report(s), the exit code: the same for check and scan."""
    from audit.api import apply_baseline, record_baseline

    protected = _inputs_of(report, s)
    targets = [p for p in (s.get("output"), s.get("write_baseline"), *(p for _, p in s.get("writes") or ())) if p]
    for target in targets:
        if target != "-" and os.path.realpath(target) in protected:
            _err(f"{target}: not written: it is an input of this run (a report never overwrites what it audits)")
            sys.exit(EXIT_USAGE)
    baseline = None
    if s.get("write_baseline"):
        baseline = record_baseline(report, s["write_baseline"])
        _note(s, f"wrote {s['write_baseline']}: {sum(baseline.counts.values())} finding(s) recorded")
    if s.get("baseline") and (baseline is None or os.path.abspath(s["baseline"]) != os.path.abspath(baseline.path)):
        baseline = s["baseline"]
    if baseline is not None:
        report = apply_baseline(report, baseline, policy)
    for line in _error_lines(report.errors):
        _err(line)
    forced = True if s["fmt"] == "text" and use_color(s.get("color"), sys.stdout.isatty()) else None
    _write(_render(report, s["fmt"], s.get("output"), s), s.get("output"), color=forced)
    for fmt, path in s.get("writes") or ():
        _write(_render(report, fmt, path, {**s, "quiet": False}), path)
    if s.get("output") not in (None, "-") and not s.get("quiet"):
        click.echo(_verdict_line(report), err=True)  # the report went to a file: the log still shows the verdict
    if s.get("verbose"):
        _verbose(report)
    if report.errors:
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_PASS if report.passed else EXIT_FAIL)


def _error_lines(errors) -> list[str]:
    """One line per error; the same failure for many inputs (an unreachable Hub) is said once, naming them."""
    import re

    by_message: dict[str, list[str]] = {}
    said: dict[str, str] = {}
    for e in errors:
        key = re.sub(r" after \d+ attempts", "", e.message)  # the first input tried, the rest failed fast
        by_message.setdefault(key, []).append(e.input)
        said.setdefault(key, e.message)
    lines = []
    for key, inputs in by_message.items():
        message = said[key]
        if len(inputs) == 1:
            lines.append(f"{inputs[0]}: {message}")
        else:
            shown = ", ".join(inputs[:5]) + (f" and {len(inputs) - 5} more" if len(inputs) > 5 else "")
            lines.append(f"{len(inputs)} inputs ({shown}): {message}")
    return lines


def _inputs_of(report, s: dict) -> frozenset[str]:
    """Real paths this run read: the files of every local model audited, the policy, the configuration, the
    baseline and the lockfile. No output may replace one of them."""
    paths = [s.get("policy_path"), s.get("baseline")]
    cfg = s.get("config")
    if cfg is not None:
        paths.append(cfg.path)
    if report.lock is not None:
        paths.append(report.lock.path)
    for m in report.models:
        if m.origin.source == "card":
            paths.append(m.origin.locator)
        elif m.origin.source == "local":
            paths += [os.path.join(m.origin.locator, d.origin.file) for d in m.license.declarations if d.origin.file]
            if m.card is not None and m.card.origin.file:
                paths.append(os.path.join(m.origin.locator, m.card.origin.file))
    return frozenset(os.path.realpath(p) for p in paths if p)


