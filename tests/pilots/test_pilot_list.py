"""The pilot list (/pilots/): filters, search, sorting, paging, filters kept in the session,
and a fixed number of database queries however many pilots there are."""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from pilots.constants import Origin, PilotKind, ReformField, Status
from pilots.models import Pilot
from pilots.selectors import DEFAULT_SORT, SORTS
from pilots.views import FILTER_SESSION_KEY
from tests.factories import PilotFactory

D = dt.date
LIST = "/pilots/"
WARNING = "部分筛选条件无效，已忽略。"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The personas' passwords are hashed once each; the default hasher makes that slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Row(NamedTuple):
    code: str
    name: str
    status: str
    field: str
    kind: str
    origin: str
    regions: tuple[str, ...]
    lead: str
    start: dt.date
    end: dt.date
    applicant: str | None = None  # None: entered by its lead department


S, RF, PK, OR = Status, ReformField, PilotKind, Origin
LIBRARY = {
    "A": Row("ST-2026-0001", "甲 排污许可试点", S.ACTIVE, RF.GOVERNANCE, PK.SINGLE,
             OR.DEPARTMENT, ("hangzhou",), "dept", D(2026, 1, 1), D(2026, 12, 31)),
    "B": Row("ST-2026-0002", "乙 水权交易试点", S.APPROVED, RF.PROPERTY_RIGHTS, PK.COMPREHENSIVE,
             OR.CENTRAL, ("county",), "division", D(2025, 3, 1), D(2028, 2, 28)),
    "C": Row("ST-2026-0003", "丙 生态补偿试点", S.CLOSED, RF.COMPENSATION, PK.SINGLE,
             OR.MINISTRY, ("ningbo",), "other_dept", D(2024, 6, 1), D(2025, 5, 31)),
    # a county's application the department would lead
    "D": Row("ST-2025-0004", "丁 用能权交易试点", S.DRAFT, RF.RESOURCE_QUOTA, PK.SINGLE,
             OR.CALL, ("nb_county",), "dept", D(2026, 7, 1), D(2027, 6, 30), "nb_county"),
    "E": Row("ST-2025-0005", "戊 空间规划试点", S.ENDORSED, RF.SPATIAL_PLANNING, PK.COMPREHENSIVE,
             OR.PROVINCIAL, (), "other_dept", D(2026, 2, 1), D(2029, 1, 31)),
    # the same dates and status as A: sorting falls back to the code
    "F": Row("ST-2026-0006", "己 碳汇试点", S.ACTIVE, RF.GOVERNANCE, PK.SINGLE,
             OR.DEPARTMENT, ("hangzhou",), "dept", D(2026, 1, 1), D(2026, 12, 31)),
}  # fmt: skip


@pytest.fixture
def library(orgs) -> dict[str, Pilot]:
    return {
        key: PilotFactory(
            code=row.code,
            name=row.name,
            status=row.status,
            field=row.field,
            kind=row.kind,
            origin=row.origin,
            regions=[orgs[r] for r in row.regions],
            lead_department=orgs[row.lead],
            applicant=orgs[row.applicant or row.lead],
            start_date=row.start,
            end_date=row.end,
        )
        for key, row in LIBRARY.items()
    }


@pytest.fixture
def office(client_for):
    return client_for("office")


def listed(response) -> list[str]:
    """The codes on the page, in order."""
    assert response.status_code == 200
    return [p.code for p in response.context["page"].object_list]


def codes(*keys: str) -> set[str]:
    return {LIBRARY[k].code for k in keys}


# --- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, "ABCDEF"),
        ({"status": Status.ACTIVE}, "AF"),
        ({"status": Status.DRAFT}, "D"),
        ({"status": Status.PURGED}, ""),
        ({"field": ReformField.GOVERNANCE}, "AF"),
        ({"field": ReformField.PROPERTY_RIGHTS}, "B"),
        ({"kind": PilotKind.COMPREHENSIVE}, "BE"),
        ({"kind": PilotKind.SINGLE}, "ACDF"),
        # R2.1: the tier is derived from the origin
        ({"tier": "reform_office"}, "BE"),
        ({"tier": "special_group"}, "ACDF"),
        # a prefecture includes pilots in its counties
        ({"prefecture": "hangzhou"}, "ABF"),
        ({"prefecture": "ningbo"}, "CD"),
        # a department includes pilots its divisions lead
        ({"lead": "dept-env"}, "ABDF"),
        ({"lead": "div-law"}, "B"),
        ({"lead": "dept-water"}, "CE"),
        # search by code or name, case-insensitive, trimmed
        ({"q": "0003"}, "C"),
        ({"q": "st-2025"}, "DE"),
        ({"q": "水权"}, "B"),
        ({"q": "  交易  "}, "BD"),
        ({"q": "不存在的试点"}, ""),
        # filters combine
        ({"field": ReformField.GOVERNANCE, "prefecture": "hangzhou", "status": "active"}, "AF"),
        ({"tier": "special_group", "prefecture": "ningbo"}, "CD"),
        ({"lead": "dept-env", "kind": PilotKind.COMPREHENSIVE}, "B"),
        ({"q": "试点", "prefecture": "ningbo", "status": Status.CLOSED}, "C"),
    ],
)
def test_filters_narrow_the_list_R2_1(office, library, query, expected):
    response = office.get(LIST, query)
    assert set(listed(response)) == codes(*expected)
    assert WARNING not in response.content.decode()


def test_filters_never_widen_what_a_user_sees(client_for, library):
    # Hangzhou sees the pilots in its area; asking for Ningbo's gives nothing
    hangzhou = client_for("hangzhou")
    assert set(listed(hangzhou.get(LIST, {"prefecture": "hangzhou"}))) == codes("A", "B", "F")
    assert listed(hangzhou.get(LIST, {"prefecture": "ningbo"})) == []
    assert listed(hangzhou.get(LIST, {"q": "0003"})) == []


def test_lead_filter_for_the_department_shows_only_what_it_sees(client_for, library):
    dept = client_for("dept")
    # D is a county's draft the department would lead: not visible before endorsement
    assert set(listed(dept.get(LIST, {"lead": "dept-env"}))) == codes("A", "B", "F")
    assert set(listed(dept.get(LIST, {"lead": "dept-water"}))) == set()


@pytest.mark.parametrize(
    "query",
    [
        {"status": "bogus"},
        {"field": "x"},
        {"tier": "provincial_office"},
        {"kind": "triple"},
        {"prefecture": "nowhere"},
        {"prefecture": "hz-xihu"},  # a county is not a prefecture
        {"lead": "hangzhou"},  # a prefecture is not a lead department
        {"lead": "999"},
        {"q": "试" * 101},
        {"status": "active", "field": "x"},  # one bad value: all filters are dropped
    ],
)
def test_invalid_filter_value_warns_in_chinese_and_shows_the_unfiltered_list(
    office, library, query
):
    response = office.get(LIST, query)
    assert response.status_code == 200
    assert WARNING in response.content.decode()
    assert set(listed(response)) == codes(*"ABCDEF")


@pytest.mark.parametrize("page", [LIST, "/ledger/"])
def test_an_over_long_search_is_ignored_with_a_warning_that_names_the_search(office, library, page):
    """A pasted or shared address with more than 100 characters (the API refuses it with
    400): the page says which filter it ignored and why, beside the rest of its warning."""
    response = office.get(page, {"q": "排污" * 60})
    html = response.content.decode()
    assert response.status_code == 200
    assert WARNING in html
    assert "搜索：" in html and "100" in html


@pytest.mark.parametrize(
    "query",
    [
        {"page": "abc"},
        {"page": "-1"},
        {"page": "9999"},
        {"per_page": "abc"},
        {"per_page": "-5"},
        {"per_page": "99999999999999999999"},
        {"sort": "bogus"},
        {"sort": "password"},
        {"unknown": "1"},
    ],
)
def test_junk_paging_and_sorting_values_never_fail(office, library, query):
    response = office.get(LIST, query)
    assert set(listed(response)) == codes(*"ABCDEF")
    assert response.context["sort"] in SORTS


# --- sorting -------------------------------------------------------------------------------


def expected_order(pilots: list[Pilot], spec: tuple[str, ...]) -> list[str]:
    """The codes in the order the ORDER BY `spec` gives (stable sorts, last key first)."""
    rows = list(pilots)
    for term in reversed(spec):
        name = term.lstrip("-")
        rows.sort(key=lambda p, n=name: getattr(p, n), reverse=term.startswith("-"))
    return [p.code for p in rows]


@pytest.mark.parametrize("sort", list(SORTS))
def test_list_sorts_by_each_sort_key(office, library, sort):
    response = office.get(LIST, {"sort": sort})
    assert response.context["sort"] == sort
    assert listed(response) == expected_order(list(library.values()), SORTS[sort])


def test_default_sort_is_newest_code_first(office, library):
    assert DEFAULT_SORT == "-code"
    assert listed(office.get(LIST)) == sorted(codes(*"ABCDEF"), reverse=True)


def test_ties_are_broken_by_code(office, library):
    # A and F share start date, end date and status
    for sort in ["start", "-start", "end", "-end", "status"]:
        order = listed(office.get(LIST, {"sort": sort}))
        assert order.index(LIBRARY["A"].code) < order.index(LIBRARY["F"].code), sort


def test_sorting_keeps_the_filters(office, library):
    response = office.get(LIST, {"sort": "-name", "field": ReformField.GOVERNANCE})
    governance = [library["A"], library["F"]]
    assert listed(response) == expected_order(governance, SORTS["-name"])
    # the column headers' links keep the filter
    assert "field=governance&amp;sort=" in response.content.decode()


# --- paging --------------------------------------------------------------------------------


@pytest.fixture
def many(orgs) -> list[str]:
    """25 visible pilots, ST-2024-0001 … ST-2024-0025."""
    Pilot.objects.bulk_create(
        PilotFactory.build(
            code=f"ST-2024-{i:04d}", lead_department=orgs["dept"], applicant=orgs["dept"]
        )
        for i in range(1, 26)
    )
    return [f"ST-2024-{i:04d}" for i in range(25, 0, -1)]  # default order: -code


def test_pages_split_the_list(office, many):
    pages = [listed(office.get(LIST, {"per_page": 10, "page": n})) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [10, 10, 5]
    assert pages[0] + pages[1] + pages[2] == many


def test_page_beyond_the_end_shows_the_last_page(office, many):
    assert listed(office.get(LIST, {"per_page": 10, "page": 99})) == many[20:]


@pytest.mark.parametrize(("per_page", "shown"), [("5", 10), ("10", 10), ("20", 20), ("500", 25)])
def test_page_size_is_kept_between_10_and_200(office, many, per_page, shown):
    response = office.get(LIST, {"per_page": per_page})
    assert len(listed(response)) == shown
    assert response.context["page"].paginator.per_page == min(max(int(per_page), 10), 200)


def test_page_size_defaults_to_the_setting(office, many, settings):
    assert settings.PAGINATE_BY == 50
    assert len(listed(office.get(LIST))) == 25
    settings.PAGINATE_BY = 20
    response = office.get(LIST)
    assert response.context["page"].paginator.per_page == 20
    assert listed(response) == many[:20]


def test_page_links_keep_the_filters(office, many):
    response = office.get(LIST, {"per_page": 10, "q": "ST-2024"})
    assert response.context["page"].paginator.num_pages == 3
    next_links = re.findall(r'href="\?([^"]*page=2)"', response.content.decode())
    assert next_links, "no link to page 2"
    params = dict(pair.split("=") for pair in re.split("&amp;|&", next_links[0]))
    assert params == {"q": "ST-2024", "per_page": "10", "page": "2"}


def test_page_links_keep_the_page_size(office, many):
    # given ten pilots a page
    response = office.get(LIST, {"per_page": 10})
    assert response.context["page"].paginator.num_pages == 3
    # then "next page" leads to the next ten, not to page 2 of the default page size
    assert "per_page=10" in response.content.decode()
    assert len(listed(office.get(LIST, {"per_page": 10, "page": 2}))) == 10


def test_page_shows_the_total_count(office, many):
    response = office.get(LIST, {"per_page": 10})
    assert "共 25 项" in response.content.decode()


# --- filters kept in the session -----------------------------------------------------------


def test_filters_persist_in_the_session(office, library):
    # given the user filtered by field
    response = office.get(LIST, {"field": ReformField.GOVERNANCE})
    assert set(listed(response)) == codes("A", "F")
    assert office.session[FILTER_SESSION_KEY] == {"field": ReformField.GOVERNANCE}
    # when they come back to the bare list
    response = office.get(LIST)
    # then they are sent to the saved query
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?{urlencode({'field': ReformField.GOVERNANCE})}"
    assert set(listed(office.get(response["Location"]))) == codes("A", "F")


def test_sort_and_search_persist_together(office, library):
    office.get(LIST, {"q": "试点", "sort": "name", "page": "1"})
    response = office.get(LIST)
    assert response.status_code == 302
    # the page number is not kept, the filters and sort are
    assert response["Location"] == f"{LIST}?{urlencode({'q': '试点', 'sort': 'name'})}"


def test_reset_clears_the_saved_filters(office, library):
    office.get(LIST, {"status": Status.ACTIVE})
    response = office.get(LIST, {"reset": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("pilots:list")
    assert FILTER_SESSION_KEY not in office.session
    assert set(listed(office.get(LIST))) == codes(*"ABCDEF")


def test_invalid_filters_are_not_remembered(office, library):
    # given a bad value, warned about and ignored once
    assert WARNING in office.get(LIST, {"status": "bogus"}).content.decode()
    # then coming back to the list does not bring the bad value (and its warning) back
    response = office.get(LIST, follow=True)
    assert WARNING not in response.content.decode()
    assert set(listed(response)) == codes(*"ABCDEF")


def test_new_filters_replace_the_saved_ones(office, library):
    office.get(LIST, {"status": Status.ACTIVE})
    office.get(LIST, {"kind": PilotKind.COMPREHENSIVE})
    assert office.get(LIST)["Location"] == f"{LIST}?kind=comprehensive"


def test_saved_filters_belong_to_the_session_not_the_user(client_for, library):
    office = client_for("office")
    office.get(LIST, {"status": Status.ACTIVE})
    # a new sign-in starts a new session without filters
    fresh = client_for("office")
    assert fresh.get(LIST).status_code == 200


# --- a fixed number of queries ----------------------------------------------------------------

# The list as the office sees it, whatever the number of pilots:
#  1. the session
#  2. the signed-in user
#  3. the user's organisation (shown in the header)
#  4. the unread notification count (header badge)
#  5. COUNT(*) of the visible, filtered pilots (the paginator)
#  6. the prefectures for the filter's choices
#  7. the lead departments and divisions for the filter's choices
#  8. one page of pilots, joined with their lead department and applicant
#  9. the regions of the pilots on that page (prefetched)
LIST_QUERIES = 9


def add_pilots(n: int, orgs) -> None:
    """n pilots led by the division, each in Hangzhou and its county, in a few queries."""
    pilots = Pilot.objects.bulk_create(
        PilotFactory.build(lead_department=orgs["division"], applicant=orgs["dept"])
        for _ in range(n)
    )
    through = Pilot.regions.through
    through.objects.bulk_create(
        through(pilot=p, organisation=org)
        for p in pilots
        for org in (orgs["hangzhou"], orgs["county"])
    )


@pytest.mark.parametrize("n", [10, 500])
def test_list_queries_do_not_grow_with_the_number_of_pilots(
    client_for, orgs, django_assert_num_queries, n
):
    add_pilots(n, orgs)
    client = client_for("office")
    client.get(LIST)  # the first visit writes the (empty) saved filters to the session
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(LIST)
    assert len(response.context["page"].object_list) == min(n, 50)


@pytest.mark.parametrize("n", [10, 150])
def test_filtered_list_for_a_prefecture_adds_only_the_filters_lookup(
    client_for, orgs, django_assert_num_queries, n
):
    add_pilots(n, orgs)
    client = client_for("hangzhou")
    query = {"prefecture": "hangzhou", "kind": PilotKind.SINGLE, "per_page": 100}
    client.get(LIST, query)
    # the same queries, plus one: the prefecture named in ?prefecture= is looked up
    with django_assert_num_queries(LIST_QUERIES + 1):
        response = client.get(LIST, query)
    assert len(response.context["page"].object_list) == min(n, 100)


def test_filter_drop_downs_render_the_same_options_as_django_and_keep_the_choice(orgs):
    import re

    from pilots.forms import PilotFilterForm
    from pilots.templatetags.registry import select

    form = PilotFilterForm({"status": "active", "prefecture": "hangzhou"})
    for name in ("status", "field", "tier", "kind", "prefecture", "lead"):
        ours, django_own = str(select(form[name])), str(form[name])
        option = re.compile(r'<option value="([^"]*)"( selected)?>([^<]*)</option>')
        assert option.findall(ours) == option.findall(django_own), name
        assert f'name="{name}"' in ours and f'id="id_{name}"' in ours
    assert '<option value="active" selected>' in str(select(form["status"]))
    assert '<option value="hangzhou" selected>' in str(select(form["prefecture"]))


def test_list_rows_escape_what_users_typed(client_for, make_pilot):
    make_pilot(code="ST-2026-0901", name='<script>alert("x")</script>试点', status=Status.ACTIVE)
    text = client_for("office").get(LIST).content.decode()
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;试点" in text
