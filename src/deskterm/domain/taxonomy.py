"""Categories (contact reasons): a two-level taxonomy from the configuration, e.g. ``network/vpn``.

A ticket's category is a top-level name (``network``) or a top-level name and one of its children
(``network/vpn``). What an agent types is matched without regard to case; the stored spelling is the
configuration's. A filter ``category:network`` takes the whole subtree (``network`` and ``network/*``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

SEPARATOR = "/"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")  # one level: short, no spaces, no separator
CLEAR = ("none", "-")  # what clears a ticket's category


@dataclass(frozen=True)
class Taxonomy:
    """The configured tree, in its order: ((top, (child, ...)), ...)."""

    tree: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, tree: Mapping[str, Iterable[str]]) -> Taxonomy:
        return cls(tuple((top, tuple(children)) for top, children in tree.items()))

    def __bool__(self) -> bool:
        return bool(self.tree)

    def paths(self) -> list[str]:
        """Every category an agent may choose, each top-level name followed by its children."""
        out: list[str] = []
        for top, children in self.tree:
            out.append(top)
            out.extend(f"{top}{SEPARATOR}{child}" for child in children)
        return out

    def tops(self) -> list[str]:
        return [top for top, _ in self.tree]

    def resolve(self, typed: str) -> str:
        """The configured category that ``typed`` names (any case, spaces around the separator tolerated);
        ValueError naming the closest ones when there is none."""
        text = SEPARATOR.join(part.strip() for part in typed.strip().split(SEPARATOR))
        by_fold = {p.casefold(): p for p in self.paths()}
        found = by_fold.get(text.casefold())
        if found is not None:
            return found
        if not self.tree:
            raise ValueError(f"{typed!r}: no categories are configured (add a [categories] table)")
        close = difflib.get_close_matches(text.casefold(), list(by_fold), n=3, cutoff=0.8)
        hint = (
            f" (did you mean {', '.join(by_fold[c] for c in close)}?)"
            if close
            else f" (known: {', '.join(self.paths()[:12])}{', …' if len(self.paths()) > 12 else ''})"
        )
        return _raise(f"{typed!r} is not a category of the taxonomy{hint}")

    def complete(self, typed: str, limit: int = 50) -> list[str]:
        """The categories ``typed`` may be the start of, or (failing that) that contain it, in tree order."""
        needle = typed.strip().casefold()
        paths = self.paths()
        starts = [p for p in paths if p.casefold().startswith(needle)]
        if starts:
            return starts[:limit]
        return [p for p in paths if needle in p.casefold()][:limit]


def _raise(message: str) -> str:
    raise ValueError(message)


def top_of(category: str | None) -> str | None:
    """``network/vpn`` → ``network`` (None stays None)."""
    return None if category is None else category.split(SEPARATOR, 1)[0]


def in_subtree(category: str | None, prefix: str) -> bool:
    """Whether ``category`` is ``prefix`` or below it (case folded): ``network/vpn`` is under ``network``.
    A prefix that names a child (``network/vpn``) matches that category only; a partial name
    (``net``) matches the top-level names that begin with it and their children."""
    if category is None:
        return False
    c, p = category.casefold(), prefix.strip().casefold()
    return c == p or c.startswith(p)


def parse_tree(raw: object, bad: Callable[[str, str], None]) -> Taxonomy:
    """``[categories]`` as TOML gives it (``network = ["vpn", "wifi"]``) → a Taxonomy; each problem is
    reported through ``bad(key, what)``."""
    if not isinstance(raw, dict):
        bad("categories", 'must be a table such as { network = ["vpn", "wifi"] }')
        return Taxonomy()
    tree: dict[str, list[str]] = {}
    folded: dict[str, str] = {}
    for top, children in raw.items():
        key = f"categories.{top}"
        if not NAME.match(top):
            bad(key, "a category is a short name of letters, digits, '-', '_' or '.' (no spaces, no '/')")
            continue
        if top.casefold() in folded:
            bad(key, f"the same name as {folded[top.casefold()]!r} (names are compared without case)")
            continue
        folded[top.casefold()] = top
        if not isinstance(children, list) or not all(isinstance(c, str) for c in children):
            bad(key, 'must be a list of subcategory names, e.g. ["vpn", "wifi"] (or [] for none)')
            continue
        seen: set[str] = set()
        kept: list[str] = []
        for child in children:
            if not NAME.match(child):
                bad(key, f"{child!r}: a subcategory is a short name of letters, digits, '-', '_' or '.'")
            elif child.casefold() in seen:
                bad(key, f"{child!r} is listed twice")
            else:
                seen.add(child.casefold())
                kept.append(child)
        tree[top] = kept
    return Taxonomy.of(tree)
