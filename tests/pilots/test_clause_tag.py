"""`{% clause %}`: every clause number carries what the clause says, the same markup on every
page; no template writes the span by hand."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.template import Context, Template

from pilots.templatetags.registry import CLAUSE_TEXTS, clause_text

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Another engineer reworks the filing pages; their spans follow when that work lands.
NOT_YET = {"filing_form.html", "filing_list.html"}


def render(source: str, **context) -> str:
    return Template("{% load registry %}" + source).render(Context(context))


def test_a_clause_renders_its_number_with_its_text_as_the_tooltip():
    html = render('{% clause "R2.3" %}')
    assert html.startswith('<span class="clause" title="R2.3 第二条第（三）项：')
    assert "按季度更新进展" in html and html.endswith(">R2.3</span>")


def test_a_clause_from_a_variable_renders_the_same_markup():
    assert render("{% clause c %}", c="R2.2") == render('{% clause "R2.2" %}')


def test_an_unknown_clause_keeps_its_number_and_an_empty_one_renders_nothing():
    assert render('{% clause "R9.9" %}') == '<span class="clause">R9.9</span>'
    assert render("{% clause c %}", c="") == ""


def test_every_clause_the_product_names_has_a_text():
    from pilots.constants import DEADLINE_CLAUSE
    from pilots.rules import rules_table

    named = set(DEADLINE_CLAUSE.values()) | {row["clause"] for row in rules_table()}
    assert all(clause_text(c) for c in named), [c for c in named if not clause_text(c)]


def test_a_span_of_clauses_reads_what_each_end_says():
    text = clause_text("R2.2–R3.2")
    assert text == f"{CLAUSE_TEXTS['R2.2']}；{CLAUSE_TEXTS['R3.2']}"


def test_no_template_writes_a_clause_span_by_hand():
    by_hand = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if path.name not in NOT_YET and re.search(r'<span class="clause"', path.read_text())
    ]
    assert not by_hand, by_hand


def test_pages_show_clauses_with_their_text(client_for, make_pilot):
    pilot = make_pilot()
    page = client_for("office").get(pilot.get_absolute_url()).content.decode()
    assert '<span class="clause" title="R1.2 第一条第（二）项：' in page
