"""The pilot page's panels: each app contributes the panel of the records it owns.

The page shows the pilot itself (the facts, the entry elements, the milestones, the
application record and the history); the apps built on the pilots add their panels in their
`AppConfig.ready()`: the ledger its filings, the end of a term its own panel, the reviews
their evaluations, promotion and supervision; and the screening page takes the experts'
scores from the reviews. A panel is a template and a function giving its
context from the user, the pilot and the user's access to it (`policy.PilotAccess`, computed
once for the request and shared by every panel).

A panel may also name the records it reads as `exists`: name → a function building an
`Exists(…OuterRef("pk")…)`. The pilot page fetches the pilot with every panel's annotations in
one query, and a panel skips the query of records the pilot has none of (`has_rows`); the
page's query count then depends on what the pilot has, never on how many of each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

PILOT_PAGE = "pilot"
SCREENING_PAGE = "screening"


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    # context(user, pilot, access) -> dict; an empty dict hides the panel.
    context: Callable[..., dict]
    order: int = 50
    page: str = PILOT_PAGE
    exists: dict[str, Callable] = field(default_factory=dict)


PANELS: dict[str, Panel] = {}


def register_panel(panel: Panel) -> None:
    PANELS[panel.name] = panel


def panel_exists(page: str = PILOT_PAGE) -> dict[str, Callable]:
    """Every panel's `exists` annotations of `page` (name → builder), to fetch with the pilot."""
    return {
        name: build
        for panel in PANELS.values()
        if panel.page == page
        for name, build in panel.exists.items()
    }


def has_rows(pilot, name: str) -> bool:
    """False only when `pilot` was fetched with the annotation `name` and it found nothing;
    a pilot fetched without it (another page) reads its records as before."""
    return getattr(pilot, name, True)


def panels_for(user, pilot, access, *, page: str = PILOT_PAGE) -> tuple[list[str], dict]:
    """The templates of the panels of `page` to show, in order, and their merged context."""
    templates: list[str] = []
    context: dict = {}
    mine = [p for p in PANELS.values() if p.page == page]
    for panel in sorted(mine, key=lambda p: (p.order, p.name)):
        found = panel.context(user, pilot, access)
        if found:
            templates.append(panel.template)
            context.update(found)
    return templates, context
