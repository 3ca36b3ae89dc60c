"""R2.4: the window for the end of a term — closure may be reported and an extension asked
for from PILOT_CLOSURE_WINDOW_DAYS before the end date on. `pilots.term` enforces it for
pages and the API alike; pages use the same words to say when it opens."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError

from pilots import rules
from pilots.models import Pilot


def closure_opens(pilot: Pilot) -> dt.date:
    return rules.closure_window_opens(pilot.end_date)


def window_message(pilot: Pilot, action: str) -> str:
    """Why closure or an extension may not be asked for yet, naming the day it opens."""
    opens, n = rules.format_cn_date(closure_opens(pilot)), rules.numbers()
    return f"本试点自{opens}起方可{action}（到期前{n.closure_window_days}天，R2.4）。"


def require_window(pilot: Pilot, day: dt.date, action: str) -> None:
    if day < closure_opens(pilot):
        raise ValidationError(window_message(pilot, action))
