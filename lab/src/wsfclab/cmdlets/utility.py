"""Where-Object (the comparison-statement form) and Select-Object, which pipelines use to filter
and trim what a cmdlet returns. Script blocks never travel, so -FilterScript is refused by the
manifest before it gets here."""

from __future__ import annotations

import re
from typing import Any

from wsfclab.cmdlets.base import Call, CimObject, cmdlet, matches
from wsfclab.errors import Unsupported

# Where-Object switch -> (comparison, case-sensitive)
_OPERATORS = {
    "EQ": "eq", "NE": "ne", "GT": "gt", "LT": "lt", "GE": "ge", "LE": "le", "Like": "like",
    "NotLike": "notlike", "Match": "match", "NotMatch": "notmatch", "Contains": "contains",
    "NotContains": "notcontains", "In": "in", "NotIn": "notin", "Is": "is", "IsNot": "isnot",
}  # fmt: skip


def _property(obj: CimObject, name: str) -> Any:
    lowered = name.lower()
    return next((v for k, v in obj.props.items() if k.lower() == lowered), None)


def _fold(value: Any, case_sensitive: bool) -> Any:
    return value.lower() if isinstance(value, str) and not case_sensitive else value


def _compare(op: str, left: Any, right: Any, case_sensitive: bool) -> bool:
    a, b = _fold(left, case_sensitive), _fold(right, case_sensitive)
    if isinstance(a, bool) or isinstance(b, bool):
        a, b = _as_bool(a), _as_bool(b)
    if op in ("eq", "ne"):
        return bool(a == b) if op == "eq" else bool(a != b)
    if op in ("gt", "lt", "ge", "le"):
        try:
            return bool({"gt": a > b, "lt": a < b, "ge": a >= b, "le": a <= b}[op])
        except TypeError:
            return False
    if op in ("like", "notlike"):
        if case_sensitive:
            pattern = re.escape(str(right)).replace(r"\*", ".*").replace(r"\?", ".")
            hit = re.fullmatch(pattern, str(left)) is not None
        else:
            hit = matches(str(left), [str(right)])
        return hit if op == "like" else not hit
    if op in ("match", "notmatch"):
        flags = 0 if case_sensitive else re.IGNORECASE
        hit = re.search(str(right), str(left), flags) is not None
        return hit if op == "match" else not hit
    if op in ("contains", "notcontains"):
        items = [_fold(v, case_sensitive) for v in (left if isinstance(left, list) else [left])]
        return (b in items) if op == "contains" else (b not in items)
    if op in ("in", "notin"):
        items = [_fold(v, case_sensitive) for v in (right if isinstance(right, list) else [right])]
        return (a in items) if op == "in" else (a not in items)
    raise Unsupported(f"Where-Object -{op}")


def _as_bool(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value) if value is not None else None


@cmdlet("Where-Object", inputs={"*": "InputObject"}, batch=True)
def where_object(call: Call) -> list[CimObject]:
    switches = [name for name in call.params if name.lstrip("C") in _OPERATORS or name in _OPERATORS]
    if not switches:
        raise Unsupported("Where-Object needs -Property and a comparison switch such as -EQ")
    switch = switches[0]
    case_sensitive = switch not in _OPERATORS
    op = _OPERATORS[switch[1:] if case_sensitive else switch]
    name = str(call.get("Property"))
    value = call.get("Value", True)
    if op in ("is", "isnot"):
        raise Unsupported("Where-Object -Is/-IsNot (type tests)")
    return [o for o in call.inputs if _compare(op, _property(o, name), value, case_sensitive)]


@cmdlet("Select-Object", inputs={"*": "InputObject"}, batch=True)
def select_object(call: Call) -> list[CimObject]:
    objects = list(call.inputs)
    if call.get("Unique"):
        unique: list[CimObject] = []
        for obj in objects:
            if all(obj.props != seen.props for seen in unique):
                unique.append(obj)
        objects = unique
    skip = int(call.get("Skip", 0))
    objects = objects[skip:]
    if call.get("SkipLast") is not None:
        objects = objects[: len(objects) - int(call.get("SkipLast"))]
    if call.get("Index") is not None:
        objects = [objects[i] for i in call.as_list("Index") or [] if 0 <= i < len(objects)]
    if call.get("First") is not None or call.get("Last") is not None:
        first = objects[: int(call.get("First"))] if call.get("First") is not None else []
        last = objects[-int(call.get("Last")) :] if call.get("Last") else []
        objects = first + [o for o in last if o not in first]
    expand = call.get("ExpandProperty")
    if expand is not None:
        return [item for obj in objects for item in _expand(obj, str(expand))]
    wanted = call.as_list("Property")
    if wanted is not None:
        names = [str(w) for w in wanted]
        return [
            CimObject(
                "System.Management.Automation.PSCustomObject", {n: _property(o, n) for n in names}, ref=o.ref
            )
            for o in objects
        ]
    return objects


def _expand(obj: CimObject, name: str) -> list[CimObject]:
    """-ExpandProperty: the property's value itself (each element of a list), not a wrapper object."""
    value = _property(obj, name)
    values = value if isinstance(value, list) else [value]
    return [v if isinstance(v, CimObject) else CimObject("", {"Value": v}) for v in values]
