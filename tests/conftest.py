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


ORGS = {
    "office": dict(
        code="office",
        name="省生态文明体制改革专项小组办公室",
        short_name="省办",
        kind=OrgKind.OFFICE,
    ),
    "dept": dict(
        code="dept-env", name="浙江省生态环境厅", short_name="省生态环境厅", kind=OrgKind.DEPARTMENT
    ),
    "division": dict(
        code="div-law",
        name="省生态环境厅法规与标准处",
        short_name="法规处",
        kind=OrgKind.DIVISION,
        parent="dept",
    ),
    "other_dept": dict(
        code="dept-water", name="浙江省水利厅", short_name="省水利厅", kind=OrgKind.DEPARTMENT
    ),
    "hangzhou": dict(
        code="hangzhou", name="杭州市生态环境局", short_name="杭州", kind=OrgKind.PREFECTURE
    ),
    "ningbo": dict(
        code="ningbo", name="宁波市生态环境局", short_name="宁波", kind=OrgKind.PREFECTURE
    ),
    "county": dict(
        code="hz-xihu",
        name="杭州市生态环境局西湖分局",
        short_name="西湖区",
        kind=OrgKind.COUNTY,
        parent="hangzhou",
    ),
    "nb_county": dict(
        code="nb-yinzhou",
        name="宁波市生态环境局鄞州分局",
        short_name="鄞州区",
        kind=OrgKind.COUNTY,
        parent="ningbo",
    ),
    "third": dict(
        code="third", name="浙江省环境科学研究院", short_name="省环科院", kind=OrgKind.THIRD_PARTY
    ),
}
# username → (its unit in ORGS, role); the same usernames as the demo accounts.
PERSONAS = {
    "office": ("office", Role.OFFICE),
    "dept": ("dept", Role.LEAD_DEPARTMENT),
    "hangzhou": ("hangzhou", Role.PREFECTURE),
    "ningbo": ("ningbo", Role.PREFECTURE),
    "county": ("county", Role.COUNTY),
    "expert": ("third", Role.EXPERT),
}


def build_orgs() -> dict:
    built: dict = {}
    for key, fields in ORGS.items():
        fields = dict(fields)
        if "parent" in fields:
            fields["parent"] = built[fields["parent"]]
        built[key] = OrganisationFactory(**fields)
    return built


def build_personas(orgs: dict) -> dict:
    return {
        username: UserFactory(username=username, organisation=orgs[unit], role=role)
        for username, (unit, role) in PERSONAS.items()
    }


@pytest.fixture
def orgs(db, request):
    """key → Organisation: the office, two departments (one with a division), two prefectures
    with a county each, a third party. Read from the units kept for the tests in a row that
    use them (`Layer`), fresh objects each test; built anew in a committing test."""
    if _kept(request):
        from accounts.models import Organisation

        by_code = Organisation.objects.in_bulk(
            [f["code"] for f in ORGS.values()], field_name="code"
        )
        found = {key: by_code[fields["code"]] for key, fields in ORGS.items()}
        by_pk = {org.pk: org for org in found.values()}
        for org in found.values():  # the parent is the same object as its own entry
            if org.parent_id is not None:
                org.parent = by_pk[org.parent_id]
        return found
    return build_orgs()


@pytest.fixture
def personas(orgs, request):
    """username → User, one per role (the same usernames as the demo accounts); each user's
    organisation is the same object as its entry in `orgs`."""
    if _kept(request):
        from accounts.models import User

        users = User.objects.in_bulk(list(PERSONAS), field_name="username")
        by_pk = {org.pk: org for org in orgs.values()}
        for user in users.values():
            user.organisation = by_pk[user.organisation_id]
        return {username: users[username] for username in PERSONAS}
    return build_personas(orgs)


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


# --- Data kept for the tests in a row that read it --------------------------------------------

HANGZHOU = ZoneInfo("Asia/Shanghai")


def _commits(item) -> bool:
    """Whether a test commits what it writes (its database is emptied after it)."""
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)):
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


def _kind_of(item) -> str | None:
    """What a test starts from that can be kept for the next test: "demo" (`demo` below),
    "personas" (`personas`, with its units), "orgs" (the units alone); None for a test that
    needs none of them, or builds its units itself because it commits."""
    names = set(getattr(item, "fixturenames", ()))
    if "_shared" in names:  # this file's `demo`, not a module's own
        return "demo"
    if _commits(item):
        return None
    if "personas" in names:
        return "personas"
    if "orgs" in names:
        return "orgs"
    return None


def _layer_of(request: pytest.FixtureRequest) -> tuple | None:
    kind = _kind_of(request.node)
    if kind == "demo":
        return (kind, request.getfixturevalue("demo_day"), request.getfixturevalue("demo_then"))
    return None if kind is None else (kind,)


def _kept(request: pytest.FixtureRequest) -> bool:
    """Whether the data this test starts from is kept (and only to be read back)."""
    shared = request.config.stash.get(_SHARED, None)
    return shared is not None and shared.holds(_layer_of(request))


class Layer:
    """Data kept in a transaction that stays open while the tests that start from it run one
    after another: the demo as `manage.py load_demo` leaves it, or the personas and their
    units. Each test runs in a savepoint inside it (the `db` fixture's own transaction), rolled
    back after the test, so a test that changes the data leaves the next one the data as it
    was built. It is rolled back, and built again, when a test starts from other data (another
    day's demo), and rolled back before a test that starts from none."""

    def __init__(self, blocker, tmp_path_factory) -> None:
        self._blocker = blocker
        self._tmp_path_factory = tmp_path_factory
        self._atomic = None
        self.key: tuple | None = None
        self.media = None

    def holds(self, key: tuple | None) -> bool:
        return key is not None and self._atomic is not None and self.key == key

    def use(self, key: tuple, request: pytest.FixtureRequest) -> None:
        """The data of `key` in the test database: built now unless it already is."""
        from django.db import connection

        if _commits(request.node):
            pytest.fail("`demo` rolls back what a test writes: a committing test loads its own.")
        if len(connection.atomic_blocks) != (0 if self._atomic is None else 1):
            pytest.fail("the kept data is built before the test's transaction, not in another")
        if self.holds(key):
            return
        self.drop()
        self.media = self._tmp_path_factory.mktemp("kept-private")
        with (
            override_settings(
                MEDIA_ROOT=self.media,
                PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            ),
            self._blocker.unblock(),
        ):
            from django.db import transaction

            self._atomic = transaction.atomic()
            self._atomic.__enter__()
            self.key = key
            try:
                self._build(*key)
            except BaseException:
                self.drop()
                raise

    @staticmethod
    def _build(kind: str, day: dt.date | None = None, then: tuple[str, ...] = ()) -> None:
        if kind == "orgs":
            build_orgs()
            return
        if kind == "personas":
            build_personas(build_orgs())
            return
        from django.core.management import call_command

        def load() -> None:
            for command in ("load_demo", *then):
                call_command(command, stdout=StringIO())

        if day is None:
            load()
            return
        import time_machine

        with time_machine.travel(dt.datetime.combine(day, dt.time(9), tzinfo=HANGZHOU), tick=False):
            load()

    def drop(self) -> None:
        """Roll the kept data back, leaving the test database empty again."""
        if self._atomic is None:
            return
        from django.db import transaction

        atomic, self._atomic, self.key = self._atomic, None, None
        with self._blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


_SHARED = pytest.StashKey[Layer]()


@pytest.fixture(scope="session")
def _shared(request, django_db_setup, django_db_blocker, tmp_path_factory):
    shared = Layer(django_db_blocker, tmp_path_factory)
    request.config.stash[_SHARED] = shared
    yield shared
    shared.drop()
    del request.config.stash[_SHARED]


@pytest.fixture
def demo_day() -> dt.date | None:
    """The day `demo` loads the demo on, at 09:00 in Hangzhou (None: now, the clock left as it
    is). A module's fixture or a test's parameter of this name gives another day."""
    return None


@pytest.fixture
def demo_then() -> tuple[str, ...]:
    """Commands run on the demo once loaded, as `make run` does ("flag_overdue",
    "send_reminders"), kept with it; a module's fixture of this name gives them."""
    return ()


@pytest.fixture
def demo(db, settings, demo_day, demo_then, _shared) -> None:
    """The demo data (`manage.py load_demo` on `demo_day`, then `demo_then`) in the test
    database, with the access of `db`. What a test changes is rolled back after it; the demo's
    files stay in their folder, which is MEDIA_ROOT during the test."""
    if not _shared.holds(("demo", demo_day, demo_then)):
        pytest.fail("`demo` rolls back what a test writes: a committing test loads its own.")
    settings.MEDIA_ROOT = _shared.media


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """A test that starts from kept data has it built (or kept) just before its own
    transaction begins, which pytest-django does in `_django_db_helper`, behind `db` and the
    django_db mark alike."""
    if fixturedef.argname == "_django_db_helper":
        layer = _layer_of(request)
        if layer is not None:
            request.getfixturevalue("_shared").use(layer, request)
    return (yield)


_ORDER = {"demo": 0, "personas": 1, "orgs": 2, None: 3}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of a file that start from the same kept data run one after another, so that
    it is built once for them: the demo's first, then the personas', then the units'. Only
    neighbours move: pytest-django's order (tests in a transaction, then committing tests,
    then the rest) is kept, since a committing test is last among its neighbours."""
    reordered: list[pytest.Item] = []
    for _, neighbours in itertools.groupby(items, key=lambda item: item.nodeid.split("::")[0]):
        reordered += sorted(neighbours, key=lambda item: _ORDER[_kind_of(item)])
    items[:] = reordered


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """After a test, the kept data is rolled back unless the next test starts from it too."""
    try:
        return (yield)
    finally:
        shared = item.config.stash.get(_SHARED, None)
        if shared is not None and (nextitem is None or _kind_of(nextitem) != _kind_of(item)):
            shared.drop()
