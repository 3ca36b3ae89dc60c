"""Personas reused by every test: one user per role, plus a second prefecture and a county
of the first, so that cross-organisation access can be checked everywhere."""

from __future__ import annotations

import pytest

from accounts.constants import OrgKind, Role
from tests.factories import PASSWORD, OrganisationFactory, PilotFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Full-cost hashing makes each persona take seconds; tests don't need its strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_dashboard_figures(settings):
    """Tests change data and look again at once: the dashboard computes its figures at every
    request unless a test turns its cache on."""
    settings.DASHBOARD_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _eager_tasks():
    """Tasks run in-process in tests, also when CI points REDIS_URL at a real broker; tests
    that exercise the broker itself switch this off explicitly."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def orgs(db):
    office = OrganisationFactory(
        code="office",
        name="省生态文明体制改革专项小组办公室",
        short_name="省办",
        kind=OrgKind.OFFICE,
    )
    dept = OrganisationFactory(
        code="dept-env", name="浙江省生态环境厅", short_name="省生态环境厅", kind=OrgKind.DEPARTMENT
    )
    division = OrganisationFactory(
        code="div-law",
        name="省生态环境厅法规与标准处",
        short_name="法规处",
        kind=OrgKind.DIVISION,
        parent=dept,
    )
    other_dept = OrganisationFactory(
        code="dept-water", name="浙江省水利厅", short_name="省水利厅", kind=OrgKind.DEPARTMENT
    )
    hangzhou = OrganisationFactory(
        code="hangzhou", name="杭州市生态环境局", short_name="杭州", kind=OrgKind.PREFECTURE
    )
    ningbo = OrganisationFactory(
        code="ningbo", name="宁波市生态环境局", short_name="宁波", kind=OrgKind.PREFECTURE
    )
    county = OrganisationFactory(
        code="hz-xihu",
        name="杭州市生态环境局西湖分局",
        short_name="西湖区",
        kind=OrgKind.COUNTY,
        parent=hangzhou,
    )
    nb_county = OrganisationFactory(
        code="nb-yinzhou",
        name="宁波市生态环境局鄞州分局",
        short_name="鄞州区",
        kind=OrgKind.COUNTY,
        parent=ningbo,
    )
    third = OrganisationFactory(
        code="third", name="浙江省环境科学研究院", short_name="省环科院", kind=OrgKind.THIRD_PARTY
    )
    return {
        "office": office,
        "dept": dept,
        "division": division,
        "other_dept": other_dept,
        "hangzhou": hangzhou,
        "ningbo": ningbo,
        "county": county,
        "nb_county": nb_county,
        "third": third,
    }


@pytest.fixture
def personas(orgs):
    """username → User; the same usernames as the demo accounts."""
    return {
        "office": UserFactory(username="office", organisation=orgs["office"], role=Role.OFFICE),
        "dept": UserFactory(username="dept", organisation=orgs["dept"], role=Role.LEAD_DEPARTMENT),
        "hangzhou": UserFactory(
            username="hangzhou", organisation=orgs["hangzhou"], role=Role.PREFECTURE
        ),
        "ningbo": UserFactory(username="ningbo", organisation=orgs["ningbo"], role=Role.PREFECTURE),
        "county": UserFactory(username="county", organisation=orgs["county"], role=Role.COUNTY),
        "expert": UserFactory(username="expert", organisation=orgs["third"], role=Role.EXPERT),
    }


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def client_for(client, personas):
    """client_for("hangzhou") → a test client logged in as that persona (None: anonymous)."""

    def _login(name: str | None):
        client.logout()
        if name is not None:
            client.force_login(personas[name])
        return client

    return _login


@pytest.fixture
def make_pilot(orgs):
    def _make(**kwargs):
        kwargs.setdefault("lead_department", orgs["dept"])
        return PilotFactory(**kwargs)

    return _make
