"""Personas reused by every test: one user per role, plus a second prefecture and a county
of the first, so that cross-organisation access can be checked everywhere. And the demo data,
loaded once for the tests in a row that read it (`demo`)."""

from __future__ import annotations

import datetime as dt
import itertools
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from accounts.constants import OrgKind, Role
from tests.factories import PASSWORD, OrganisationFactory, PilotFactory, UserFactory


@pytest.fixture(autouse=True, scope="session")
def _private_media_of_this_run(django_test_environment, tmp_path_factory):
    """Uploaded and generated files go to a folder of this run (one per xdist worker), never to
    the project's private/ that `make run` uses; a test that looks at its files sets its own."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("private")):
        yield


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


# --- The demo data, loaded once for the tests in a row that read it --------------------------

HANGZHOU = ZoneInfo("Asia/Shanghai")


class SharedDemo:
    """The demo as `manage.py load_demo` leaves it, kept in a transaction that stays open while
    the tests that read it run one after another: each runs in a savepoint inside it (the `db`
    fixture's own transaction), rolled back after the test, so a test that changes the demo
    leaves the next one the demo as it was loaded. It is rolled back, and loaded again, when a
    test asks for another day's demo, and rolled back before a test that does not read it."""

    def __init__(self, blocker, tmp_path_factory) -> None:
        self._blocker = blocker
        self._tmp_path_factory = tmp_path_factory
        self._atomic = None
        self.day: dt.date | None = None
        self.media = None

    def holds(self, day: dt.date | None) -> bool:
        return self._atomic is not None and self.day == day

    def use(self, day: dt.date | None, request: pytest.FixtureRequest) -> None:
        """The demo of `day` in the test database: loaded now unless it already is."""
        from django.db import connection

        marker = request.node.get_closest_marker("django_db")
        if (marker and (marker.kwargs.get("transaction") or marker.args[:1] == (True,))) or {
            "transactional_db",
            "live_server",
        } & set(request.fixturenames):
            pytest.fail("`demo` rolls back what a test writes: a committing test loads its own.")
        if len(connection.atomic_blocks) != (0 if self._atomic is None else 1):
            pytest.fail("the demo is loaded before the test's transaction, not inside another")
        if self.holds(day):
            return
        self.drop()
        self.media = self._tmp_path_factory.mktemp("demo-private")
        with override_settings(MEDIA_ROOT=self.media), self._blocker.unblock():
            from django.core.management import call_command
            from django.db import transaction

            self._atomic = transaction.atomic()
            self._atomic.__enter__()
            self.day = day
            try:
                if day is None:
                    call_command("load_demo", stdout=StringIO())
                else:
                    import time_machine

                    moment = dt.datetime.combine(day, dt.time(9), tzinfo=HANGZHOU)
                    with time_machine.travel(moment, tick=False):
                        call_command("load_demo", stdout=StringIO())
            except BaseException:
                self.drop()
                raise

    def drop(self) -> None:
        """Roll the demo back, leaving the test database empty again."""
        if self._atomic is None:
            return
        from django.db import transaction

        atomic, self._atomic, self.day = self._atomic, None, None
        with self._blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


_SHARED_DEMO = pytest.StashKey[SharedDemo]()


@pytest.fixture(scope="session")
def _shared_demo(request, django_db_setup, django_db_blocker, tmp_path_factory):
    shared = SharedDemo(django_db_blocker, tmp_path_factory)
    request.config.stash[_SHARED_DEMO] = shared
    yield shared
    shared.drop()
    del request.config.stash[_SHARED_DEMO]


@pytest.fixture
def demo_day() -> dt.date | None:
    """The day `demo` loads the demo on, at 09:00 in Hangzhou (None: now, the clock left as it
    is). A module's fixture or a test's parameter of this name gives another day."""
    return None


@pytest.fixture
def demo(db, settings, demo_day, _shared_demo) -> None:
    """The demo data (`manage.py load_demo` on `demo_day`) in the test database, with the
    access of `db`. What a test changes is rolled back after it; the demo's files stay in
    their folder, which is MEDIA_ROOT during the test."""
    if not _shared_demo.holds(demo_day):
        pytest.fail("the demo was not loaded before the test's transaction began")
    settings.MEDIA_ROOT = _shared_demo.media


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """A test that reads the demo has it loaded (or kept) just before its own transaction
    begins, which pytest-django does in `_django_db_helper`, behind `db` and the django_db
    mark alike."""
    if fixturedef.argname == "_django_db_helper" and "_shared_demo" in request.fixturenames:
        shared = request.getfixturevalue("_shared_demo")
        shared.use(request.getfixturevalue("demo_day"), request)
    return (yield)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of a file that read the demo run first among its tests, one after another, so
    that it is loaded once for them. Only neighbours move: pytest-django's order (tests in a
    transaction, then committing tests, then the rest) is kept."""
    reordered: list[pytest.Item] = []
    for _, neighbours in itertools.groupby(items, key=lambda item: item.nodeid.split("::")[0]):
        reordered += sorted(
            neighbours, key=lambda item: "_shared_demo" not in getattr(item, "fixturenames", ())
        )
    items[:] = reordered


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """After a test, the demo is rolled back unless the next test reads it too."""
    try:
        return (yield)
    finally:
        shared = item.config.stash.get(_SHARED_DEMO, None)
        if shared is not None and "_shared_demo" not in getattr(nextitem, "fixturenames", ()):
            shared.drop()
