"""The pilot page's panels: each app contributes the panel of the records it owns.

The page shows the pilot itself (the facts, the entry elements, the milestones, the
application record and the history); the apps built on the pilots add their panels in their
`AppConfig.ready()`: the ledger its filings, the end of a term its own panel, the reviews
their evaluations, promotion and supervision; and the screening page takes the experts'
scores from the reviews. A panel is a template and a function giving its
context from the user, the pilot and the user's access to it (`policy.PilotAccess`, computed
once for the request and shared by every panel)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


PANELS: dict[str, Panel] = {}


def register_panel(panel: Panel) -> None:
    PANELS[panel.name] = panel


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
