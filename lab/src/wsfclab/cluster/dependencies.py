"""Resource dependency expressions and the order they impose (pure).

An expression names providers in brackets, joined by ``and`` / ``or`` with parentheses:
``([IP Address 10.0.0.5] or [IP Address 10.1.0.5]) and [Cluster Disk 1]`` ([MSCS]
resource-dependencies). A resource may come online once its expression holds over the resources
already online; a group comes online bottom-up (providers first) and goes offline top-down
(dependents first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wsfclab.cluster.errors import invalid

if TYPE_CHECKING:
    from wsfclab.cluster.database import ClusterDatabase

_TOKEN = re.compile(r"\s*(?:(\[[^\]]*\])|(\()|(\))|(and\b|or\b)|(\S))", re.IGNORECASE)


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Op:
    op: str  # "and" | "or"
    items: tuple[Expr, ...]


type Expr = Name | Op


def parse(expression: str) -> Expr | None:
    """The expression tree, or None for the empty expression; bad syntax raises the Windows
    "parameter is incorrect" error naming the expression."""
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(expression):
        name, lpar, rpar, word, other = match.groups()
        if other is not None:
            raise invalid("DependencyExpression", expression, "names in [brackets] joined by and / or")
        if name is not None:
            if not name[1:-1].strip():
                raise invalid("DependencyExpression", expression, "a resource name inside each [ ]")
            tokens.append(("name", name[1:-1]))
        elif lpar:
            tokens.append(("(", "("))
        elif rpar:
            tokens.append((")", ")"))
        elif word:
            tokens.append(("op", word.lower()))
    if not tokens:
        return None
    tree, rest = _parse_or(tokens, expression)
    if rest:
        raise invalid(
            "DependencyExpression", expression, "balanced parentheses and one operator between names"
        )
    return tree


def _parse_or(tokens: list[tuple[str, str]], text: str) -> tuple[Expr, list[tuple[str, str]]]:
    left, rest = _parse_and(tokens, text)
    items = [left]
    while rest and rest[0] == ("op", "or"):
        right, rest = _parse_and(rest[1:], text)
        items.append(right)
    return (items[0] if len(items) == 1 else Op("or", tuple(items))), rest


def _parse_and(tokens: list[tuple[str, str]], text: str) -> tuple[Expr, list[tuple[str, str]]]:
    left, rest = _parse_atom(tokens, text)
    items = [left]
    while rest and rest[0] == ("op", "and"):
        right, rest = _parse_atom(rest[1:], text)
        items.append(right)
    return (items[0] if len(items) == 1 else Op("and", tuple(items))), rest


def _parse_atom(tokens: list[tuple[str, str]], text: str) -> tuple[Expr, list[tuple[str, str]]]:
    if not tokens:
        raise invalid("DependencyExpression", text, "a name after each operator")
    kind, value = tokens[0]
    if kind == "name":
        return Name(value), tokens[1:]
    if kind == "(":
        inner, rest = _parse_or(tokens[1:], text)
        if not rest or rest[0][0] != ")":
            raise invalid("DependencyExpression", text, "balanced parentheses")
        return inner, rest[1:]
    raise invalid("DependencyExpression", text, "a [name] or ( where " + repr(value) + " stands")


def render(tree: Expr | None, *, top: bool = True) -> str:
    if tree is None:
        return ""
    if isinstance(tree, Name):
        return f"[{tree.name}]"
    body = f" {tree.op} ".join(render(item, top=False) for item in tree.items)
    return body if top else f"({body})"


def canonical(expression: str) -> str:
    """The expression as Windows stores it: one space around operators, parentheses kept only
    where they group."""
    return render(parse(expression))


def names(expression: str) -> list[str]:
    """Every provider named, in order of appearance, each once."""
    found: list[str] = []

    def walk(tree: Expr | None) -> None:
        if isinstance(tree, Name):
            if tree.name.lower() not in (f.lower() for f in found):
                found.append(tree.name)
        elif isinstance(tree, Op):
            for item in tree.items:
                walk(item)

    walk(parse(expression))
    return found


def satisfied(expression: str, online: set[str]) -> bool:
    """Whether the expression holds when the resources named in ``online`` (lower case) are online."""

    def holds(tree: Expr | None) -> bool:
        if tree is None:
            return True
        if isinstance(tree, Name):
            return tree.name.lower() in online
        results = [holds(item) for item in tree.items]
        return all(results) if tree.op == "and" else any(results)

    return holds(parse(expression))


def without(expression: str, removed: set[str]) -> str:
    """The expression with the named providers taken out (a removed resource's dependents keep the
    rest of their expression, as Windows does)."""
    gone = {r.lower() for r in removed}

    def strip(tree: Expr | None) -> Expr | None:
        if tree is None or (isinstance(tree, Name) and tree.name.lower() in gone):
            return None
        if isinstance(tree, Name):
            return tree
        kept = tuple(t for t in (strip(item) for item in tree.items) if t is not None)
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else Op(tree.op, kept)

    return render(strip(parse(expression)))


def creates_cycle(db: ClusterDatabase, resource: str, providers: list[str]) -> bool:
    """Whether making ``resource`` depend on ``providers`` would close a loop."""
    target = resource.lower()
    seen: set[str] = set()
    stack = [p.lower() for p in providers]
    while stack:
        current = stack.pop()
        if current == target:
            return True
        if current in seen:
            continue
        seen.add(current)
        res = db.resource_by_name(current)
        if res is not None:
            stack += [n.lower() for n in names(res.dependency_expression)]
    return False


def online_order(db: ClusterDatabase, group: str) -> list[str]:
    """The group's resources, providers before dependents (ties by name, so the order is stable)."""
    members = {r.name.lower(): r for r in db.resources_of(group)}
    order: list[str] = []
    placed: set[str] = set()

    def place(key: str, path: frozenset[str]) -> None:
        if key in placed or key in path:
            return
        for provider in names(members[key].dependency_expression):
            if provider.lower() in members:
                place(provider.lower(), path | {key})
        placed.add(key)
        order.append(members[key].name)

    for key in sorted(members):
        place(key, frozenset())
    return order


def offline_order(db: ClusterDatabase, group: str) -> list[str]:
    """Dependents before providers."""
    return list(reversed(online_order(db, group)))


def dependents_of(db: ClusterDatabase, resource: str) -> list[str]:
    """Every resource that depends, directly or not, on ``resource``, nearest first."""
    wanted = resource.lower()
    found: list[str] = []
    frontier = [wanted]
    while frontier:
        current = frontier.pop(0)
        for res in db.resources.values():
            if res.name.lower() in (f.lower() for f in found):
                continue
            if current in (n.lower() for n in names(res.dependency_expression)):
                found.append(res.name)
                frontier.append(res.name.lower())
    return found
