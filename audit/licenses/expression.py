"""SPDX license expressions as objects (license-expression), never as joined strings.

One `Licensing` knows the catalog's symbols (its SPDX ids and LicenseRef-s, and NOASSERTION), so ids
come out in the catalog's spelling whatever case they were written in. Combining expressions flattens
nested operators of the same kind and drops repeats, keeping the order the parts came in: reports and
tests read "MIT AND LicenseRef-llama3.1" in the order the licenses were found, not sorted.

license_expression costs ~30 ms to import: it is imported on first use, not with this module.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from audit.errors import AuditError

if TYPE_CHECKING:
    from license_expression import LicenseExpression, Licensing

NOASSERTION = "NOASSERTION"  # SPDX: nothing can be said about the license


class ExpressionError(AuditError):
    """Text that is not a license expression, or names a license the catalog does not know."""


@lru_cache(maxsize=1)
def licensing() -> Licensing:
    """A Licensing that knows every SPDX id and LicenseRef of the catalog (loaded once)."""
    from license_expression import LicenseSymbol, Licensing

    from audit.licenses.catalog import catalog

    ids = dict.fromkeys([*(lic.spdx for lic in catalog().all()), NOASSERTION])
    return Licensing([LicenseSymbol(i) for i in ids])


def parse(text: str) -> LicenseExpression:
    """Parse an expression; ExpressionError naming the text when it is not one. Unknown ids are kept."""
    try:
        expr = licensing().parse(text)
    except Exception as exc:  # the library raises assorted errors on odd input (IndexError on "()")
        raise ExpressionError(text, f"not a license expression: {exc}") from None
    if expr is None:
        raise ExpressionError(text, "empty license expression")
    return _normal(expr)


def render(expr: LicenseExpression) -> str:
    return str(_normal(expr))


def and_(exprs: Iterable[str | None]) -> str | None:
    """All of the expressions (None and "" skipped, repeats dropped, order kept); None when there is none."""
    return _combine("AND", exprs)


def or_(exprs: Iterable[str | None]) -> str | None:
    """Any one of the expressions (None and "" skipped, repeats dropped, order kept); None when there is none."""
    return _combine("OR", exprs)


def simplify(text: str) -> str:
    """The expression in license-expression's simplified, sorted form (to compare two expressions)."""
    return str(parse(text).simplify())


def license_ids(expression: str | LicenseExpression) -> tuple[str, ...]:
    """The license ids of an expression in the order written, exceptions left out ("X WITH e" gives X)."""
    expr = parse(expression) if isinstance(expression, str) else expression
    out: dict[str, None] = {}
    for sym in expr.get_literals():
        lic = getattr(sym, "license_symbol", sym)
        out[str(lic.key)] = None
    return tuple(out)


def keys_of(expression: str | LicenseExpression) -> tuple[str, ...]:
    """The catalog keys of an expression's licenses, in order; ExpressionError names an id the catalog lacks.

    NOASSERTION names no license and gives no key."""
    from audit.licenses.catalog import catalog

    cat = catalog()
    keys: dict[str, None] = {}
    for lid in license_ids(expression):
        if lid == NOASSERTION:
            continue
        key = cat.lookup(lid)
        if key is None:
            raise ExpressionError(str(expression), f"{lid} is not a license the catalog knows")
        keys[key] = None
    return tuple(keys)


def of_keys(keys: Iterable[str], *, drop_companions: bool = False) -> str | None:
    """Catalog keys -> the AND of their SPDX ids (keys the catalog lacks are skipped); None for none.

    drop_companions: a companion document (an acceptable use policy) is part of the license that names
    it, so it is left out when that license is among the keys."""
    from audit.licenses.catalog import catalog

    cat = catalog()
    known = [k for k in dict.fromkeys(keys) if k in cat]
    if drop_companions:
        known = [k for k in known if not any(k in cat[o].companions for o in known if o != k)]
    return and_(cat[k].spdx for k in known)


def _combine(op: str, exprs: Iterable[str | None]) -> str | None:
    return _combined(op, tuple(e for e in exprs if e))


@lru_cache(maxsize=4096)  # an audit combines the same few expressions for model after model
def _combined(op: str, texts: tuple[str, ...]) -> str | None:
    """The text of the combined expression: a str of str, so a cached answer cannot be changed by a caller."""
    parts = [parse(e) for e in texts]
    if not parts:
        return None
    if len(parts) == 1:
        return str(parts[0])
    lic = licensing()
    return str(_normal(lic.AND(*parts) if op == "AND" else lic.OR(*parts)))


def _normal(expr: Any) -> Any:
    """Nested ANDs (ORs) flattened into one, repeated parts dropped, first appearance first."""
    args = getattr(expr, "args", ())
    if not args or not hasattr(expr, "operator"):
        return expr  # a symbol, or "X WITH exception"
    flat: dict[Any, None] = {}
    for arg in (_normal(a) for a in args):
        for part in arg.args if type(arg) is type(expr) else (arg,):
            flat[part] = None
    parts = list(flat)
    return parts[0] if len(parts) == 1 else type(expr)(*parts)
