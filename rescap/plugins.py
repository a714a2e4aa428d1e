"""Plugins found through an entry-point group, the built-ins declared as well (a source checkout
without installed metadata still finds them). Listing reads metadata only; a plugin's module is
imported when it is used. Backends (``rescap.backends``) and restorer adapters (``rescap.adapters``)
are both found this way.

Example:
    >>> from rescap.plugins import discover
    >>> spec = discover("rescap.example", {"json": "json:JSONDecoder"})["json"]
    >>> spec.load_as(object, "example").__name__
    'JSONDecoder'
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points


@dataclass(frozen=True)
class PluginSpec:
    name: str
    target: str  # "module:attribute"
    distribution: str  # the package that declared it
    group: str

    def load_as(self, base: type, kind: str) -> type:
        """Import the plugin; it must be a subclass of ``base`` (``kind`` names it in the error)."""
        cls = EntryPoint(self.name, self.target, self.group).load()
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise TypeError(f"{kind} {self.name!r} ({self.target}) is not a {base.__name__} subclass")
        return cls


def discover(group: str, builtins: dict[str, str]) -> dict[str, PluginSpec]:
    """Every plugin of ``group`` by name, sorted; an installed one overrides a built-in of its name."""
    found = {name: PluginSpec(name, target, "rescap", group) for name, target in builtins.items()}
    for ep in entry_points(group=group):
        dist = getattr(ep, "dist", None)
        found[ep.name] = PluginSpec(ep.name, ep.value, dist.metadata["Name"] if dist is not None else "?", group)
    return dict(sorted(found.items()))


def unknown_name(kind: str, name: str, known: dict[str, PluginSpec], looked_up: str | None = None) -> str:
    """The message for a name that is not registered, with the closest registered one (to
    ``looked_up``, the normalized name, when given)."""
    close = difflib.get_close_matches(looked_up or name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no {kind} named {name!r}{hint} (registered: {', '.join(known)})"
