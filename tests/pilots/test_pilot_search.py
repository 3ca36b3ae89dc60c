"""Searching pilots by code or name (pilots/search.py): every word must occur, whatever its
length, ignoring case; the list, the API's ?search= and the admin's changelist search alike;
on PostgreSQL the indexes of migrations 0019 and 0020 serve two-character and longer words."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.urls import reverse

from core.history import save_with_history
from pilots.models import Pilot
from pilots.search import search_pilots

NAMES = {
    "ST-2026-0001": "杭州市排污权有偿使用和交易试点",
    "ST-2026-0002": "湖州市排污许可“一证式”管理试点",
    "ST-2026-0003": "丽水市森林碳汇交易试点",
    "ST-2025-0004": "宁波市100%_清洁能源示范试点",
    "ST-2025-0005": "温州市水权交易试点",
}


@pytest.fixture
def library(make_pilot):
    return {code: make_pilot(code=code, name=name) for code, name in NAMES.items()}


def listed(client, q: str) -> set[str]:
    response = client.get(reverse("pilots:list"), {"q": q, "per_page": 100})
    assert response.status_code == 200
    return {p.code for p in response.context["page"].object_list}


def api_listed(client, q: str) -> set[str]:
    answer = client.get("/api/v1/pilots/", {"search": q, "page_size": 100})
    assert answer.status_code == 200
    return {row["code"] for row in answer.json()["results"]}


def admin_listed(client, q: str) -> set[str]:
    answer = client.get("/admin/pilots/pilot/", {"q": q})
    assert answer.status_code == 200
    return {p.code for p in answer.context["cl"].result_list}


CASES = [
    ("排污", {"ST-2026-0001", "ST-2026-0002"}),  # two characters
    ("排污权", {"ST-2026-0001"}),  # three and more
    ("碳", {"ST-2026-0003"}),  # one
    ("交易 试点", {"ST-2026-0001", "ST-2026-0003", "ST-2025-0005"}),  # every word
    ("交易 湖州", set()),
    ("排污 交易试点 州", {"ST-2026-0001"}),  # words of two, three and one characters
    ("排污 湖州", {"ST-2026-0002"}),
    ("st-2025", {"ST-2025-0004", "ST-2025-0005"}),  # the code, ignoring case
    ("0003", {"ST-2026-0003"}),
    ("100%_", {"ST-2025-0004"}),  # LIKE's wildcards are plain characters
    ("%", {"ST-2025-0004"}),
    ("_清", {"ST-2025-0004"}),
    ("0001杭州", set()),  # never across the code and the name
    ("不存在", set()),
    ("'", set()),  # quotes and commas are characters too, as typed
    ('"排污权"', set()),
    ("排污,", set()),
]


@pytest.mark.parametrize(("q", "expected"), CASES)
def test_the_list_finds_the_pilots_whose_code_or_name_holds_every_word(
    library, client_for, q, expected
):
    assert listed(client_for("office"), q) == expected


def test_the_api_and_the_admin_search_as_the_list_does(library, client_for, personas):
    office = personas["office"]
    office.is_staff = office.is_superuser = True
    office.save()
    client = client_for("office")
    for q, expected in CASES:
        assert api_listed(client, q) == expected, q
        assert admin_listed(client, q) == expected, q


def test_a_search_finds_only_what_the_reader_may_see(make_pilot, orgs, client_for):
    mine = make_pilot(name="杭州市排污权交易试点", regions=[orgs["hangzhou"]])
    make_pilot(name="宁波市排污权交易试点", regions=[orgs["ningbo"]])
    assert listed(client_for("hangzhou"), "排污") == {mine.code}
    assert api_listed(client_for("hangzhou"), "排污") == {mine.code}


def test_a_renamed_pilot_is_found_by_its_new_name_and_code_only(library, personas, client_for):
    pilot = library["ST-2025-0005"]
    pilot.name = "温州市用水权改革试点"
    save_with_history(pilot, actor=personas["office"], reason="更名")
    Pilot.objects.filter(pk=pilot.pk).update(code="ST-2025-0105")
    client = client_for("office")
    assert listed(client, "用水") == {"ST-2025-0105"}
    assert listed(client, "水权交易") == set()
    assert listed(client, "2025-0105") == {"ST-2025-0105"}
    assert listed(client, "2025-0005") == set()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the indexes are PostgreSQL's")
@pytest.mark.parametrize(
    ("q", "index"),
    [
        ("排污", "pilot_search_pairs_gin"),
        ("排污权", "pilot_search_text_trgm"),
        ("st-2026", "pilot_search_text_trgm"),
    ],
)
def test_on_postgresql_an_index_serves_words_of_two_characters_or_more(library, q, index):
    sql, params = search_pilots(Pilot.objects.order_by(), q).query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # a handful of rows: the planner would rightly read the table; ask whether it can
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the stored pairs are PostgreSQL's")
def test_on_postgresql_the_stored_pairs_follow_the_code_and_the_name(library):
    pilot = library["ST-2025-0005"]
    Pilot.objects.filter(pk=pilot.pk).update(code="ST-2025-0105", name="温州市用水权改革试点")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pairs FROM pilot_search_pairs WHERE pilot_id = %s", [pilot.pk])
        (pairs,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pilot_search s JOIN pilot_search_pairs p USING (pilot_id) "
            "WHERE p.pairs IS DISTINCT FROM pilot_bigrams(s.text)"
        )
        (stale,) = cursor.fetchone()
    assert {"用水", "01", "05"} <= set(pairs)
    assert "交易" not in pairs
    assert "5\n" in pairs and "\n温" in pairs  # code, line break, name
    assert stale == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the stored pairs are PostgreSQL's")
def test_on_postgresql_one_bulk_insert_stores_the_text_and_pairs_of_every_new_pilot(library):
    copies = []
    for i in range(3):
        pilot = Pilot.objects.get(pk=library["ST-2025-0005"].pk)
        pilot.pk = None
        pilot.code, pilot.name = f"ST-2030-000{i}", f"第{i}个批量录入的排污权试点"
        copies.append(pilot)
    ids = [pilot.pk for pilot in Pilot.objects.bulk_create(copies)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.text, p.pairs = pilot_bigrams(s.text) FROM pilot_search s "
            "JOIN pilot_search_pairs p USING (pilot_id) WHERE pilot_id = ANY(%s) ORDER BY 1",
            [ids],
        )
        rows = cursor.fetchall()
    assert rows == [(f"ST-2030-000{i}\n第{i}个批量录入的排污权试点", True) for i in range(3)]
    client_rows = search_pilots(Pilot.objects.all(), "排污权").filter(pk__in=ids)
    assert client_rows.count() == 3
