"""Plain factory functions for test data (run inside an app context)."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from agencyapp import passwords
from agencyapp.extensions import db
from agencyapp.models import ChecklistVersion, Ministry, Submission, Unit, User
from agencyapp.services.checklists import load_structure
from agencyapp.services.cycles import open_cycle

PASSWORD = "Correct-Horse-Battery-42"
_HASH = {}


def password_hash():
    """Hashing costs ~50 ms; tests share one hash of PASSWORD."""
    if PASSWORD not in _HASH:
        _HASH[PASSWORD] = passwords.hash_password(PASSWORD)
    return _HASH[PASSWORD]


def make_ministry(code, name, position=0):
    ministry = Ministry(code=code, name=name, position=position)
    db.session.add(ministry)
    db.session.flush()
    return ministry


def make_unit(ministry, code, name, position=0):
    unit = Unit(ministry_id=ministry.id, code=code, name=name, position=position)
    db.session.add(unit)
    db.session.flush()
    return unit


def make_user(login_id, role, unit=None, ministry=None, name=None):
    user = User(
        login_id=login_id,
        display_name=name or login_id,
        role=role,
        email=f"{login_id}@example.invalid",
        unit_id=unit.id if unit else None,
        ministry_id=ministry.id if ministry else None,
        password_hash=password_hash(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def national_version():
    return db.session.scalar(select(ChecklistVersion).where(ChecklistVersion.code == "national-r8"))


def outsourcing_goals(version):
    """The goals of the 委託先の管理 大分類 (the demo's important item)."""
    structure = load_structure(version)
    node = next(c for c in structure.categories if "委託先の管理" in c.section.title)
    return sorted({q.goal_number for q in node.all_questions()})


def make_cycle(units, fiscal_year=2026, due_on=date(2027, 1, 29), version=None, important=None):
    """Open a cycle and commit it, as the center's page would (services never commit)."""
    version = version or national_version()
    cycle = open_cycle(
        fiscal_year=fiscal_year,
        version=version,
        title=f"{fiscal_year}年度 自己点検",
        opens_on=date(fiscal_year, 10, 1),
        due_on=due_on,
        important_goal_numbers=outsourcing_goals(version) if important is None else important,
        important_label="委託先の管理",
        units=units,
    )
    db.session.commit()
    return cycle


def submission_of(cycle, unit):
    return db.session.scalar(select(Submission).where(Submission.cycle_id == cycle.id, Submission.unit_id == unit.id))


@dataclass
class World:
    ministry_a: Ministry
    ministry_b: Ministry
    unit_a: Unit
    unit_a2: Unit
    unit_b: Unit
    agency: User
    agency_a2: User
    agency_b: User
    center: User
    ministry_user: User
    admin: User
    cycle: object
    submission_a: Submission
    submission_a2: Submission
    submission_b: Submission


def make_world():
    ministry_a = make_ministry("mhlw", "厚生労働省", 0)
    ministry_b = make_ministry("mofa", "外務省", 1)
    unit_a = make_unit(ministry_a, "mhlw-nenkin", "厚生労働省 年金局", 0)
    unit_a2 = make_unit(ministry_a, "mhlw-koyo", "厚生労働省 職業安定局 雇用保険課", 1)
    unit_b = make_unit(ministry_b, "mofa-ryoji", "外務省 領事局旅券課", 0)
    users = dict(
        agency=make_user("agency-a", "agency", unit=unit_a, name="年金 花子"),
        agency_a2=make_user("agency-a2", "agency", unit=unit_a2),
        agency_b=make_user("agency-b", "agency", unit=unit_b),
        center=make_user("center", "center"),
        ministry_user=make_user("ministry-a", "ministry", ministry=ministry_a),
        admin=make_user("admin", "admin"),
    )
    db.session.commit()
    cycle = make_cycle([unit_a, unit_a2, unit_b])
    return World(
        ministry_a=ministry_a,
        ministry_b=ministry_b,
        unit_a=unit_a,
        unit_a2=unit_a2,
        unit_b=unit_b,
        cycle=cycle,
        submission_a=submission_of(cycle, unit_a),
        submission_a2=submission_of(cycle, unit_a2),
        submission_b=submission_of(cycle, unit_b),
        **users,
    )


def act(call, *args, **kwargs):
    """Call a service as the edge does: one unit of work that commits, or rolls back if it raises."""
    from agencyapp.unit_of_work import unit_of_work

    with unit_of_work():
        return call(*args, **kwargs)
