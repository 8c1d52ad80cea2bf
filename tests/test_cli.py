"""Operator commands: import and check checklists, demo data, users."""

from sqlalchemy import func, select

from agencyapp.checklists import DATA_DIR
from agencyapp.demo import seed_demo
from agencyapp.extensions import db
from agencyapp.models import ChecklistVersion, Cycle, Ministry, Submission, Unit, User
from agencyapp.models.user import ADMIN
from tests.factories import act

BAD = """\
code: bad-v1
edition: national
fiscal_year: 2026
title: 壊れた版
scale:
  - {value: 3, label: 実施している, points: 3}
  - {value: 2, label: 一部実施している, points: 2}
  - {value: 1, label: 実施していない, points: 1}
categories:
  - code: "1"
    title: 組織
    subcategories:
      - code: "1.1"
        title: 体制
        groups:
          - code: "1.1.1"
            title: 責任体制
            goals:
              - {number: 1, text: 一つ目, question: 5}
              - {number: 2, text: 二つ目, question: 5, applies_if: {question: 40, in: [3]}}
"""


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_import_checklist_reports_every_problem_and_loads_nothing(runner, ctx, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    before = count(ChecklistVersion)
    result = runner.invoke(args=["import-checklist", str(path)])
    assert result.exit_code == 1
    assert "bad.yaml: 管理目標 2: 設問番号 5 が重複しています" in result.output
    assert "登録しませんでした" in result.output
    assert count(ChecklistVersion) == before


def test_import_checklist_is_idempotent_and_refuses_changed_content(runner, ctx, tmp_path):
    source = (DATA_DIR / "national_r8.yaml").read_text(encoding="utf-8")
    result = runner.invoke(args=["import-checklist", str(DATA_DIR / "national_r8.yaml")])
    assert result.exit_code == 0 and "変更なし" in result.output
    changed = tmp_path / "changed.yaml"
    changed.write_text(source.replace("title: ", "title: 改訂 ", 1), encoding="utf-8")
    result = runner.invoke(args=["import-checklist", str(changed)])
    assert result.exit_code == 1 and "別の内容で登録されています" in result.output


def test_import_checklist_registers_a_new_version(runner, ctx, tmp_path):
    source = (DATA_DIR / "national_r8.yaml").read_text(encoding="utf-8")
    path = tmp_path / "next.yaml"
    path.write_text(
        source.replace("code: national-r8", "code: national-r9").replace("fiscal_year: 2026", "fiscal_year: 2027"),
        encoding="utf-8",
    )
    result = runner.invoke(args=["import-checklist", str(path)])
    assert result.exit_code == 0 and "登録しました: national-r9" in result.output
    assert db.session.scalar(select(ChecklistVersion).where(ChecklistVersion.code == "national-r9")).fiscal_year == 2027


def test_check_checklist_validates_without_loading(runner, ctx):
    result = runner.invoke(args=["check-checklist", str(DATA_DIR / "municipal_h20.yaml")])
    assert result.exit_code == 0 and "管理目標 43、設問 96" in result.output


def test_seed_demo_creates_the_demo_world_once(ctx):
    act(seed_demo)
    act(seed_demo)
    assert count(Ministry) >= 6 and count(Unit) >= 20
    logins = set(db.session.scalars(select(User.login_id)))
    assert {"demo-agency", "demo-agency2", "demo-center", "demo-ministry", "demo-admin"} <= logins
    agency = db.session.scalar(select(User).where(User.login_id == "demo-agency"))
    agency2 = db.session.scalar(select(User).where(User.login_id == "demo-agency2"))
    ministry = db.session.scalar(select(User).where(User.login_id == "demo-ministry"))
    assert agency.unit.ministry_id == ministry.ministry_id != agency2.unit.ministry_id
    cycle = db.session.scalar(select(Cycle).where(Cycle.fiscal_year == 2026))
    assert cycle.important_label == "委託先の管理" and len(cycle.important_goals) >= 5
    last_year = db.session.scalar(select(Cycle).where(Cycle.fiscal_year == 2025))
    assert count(Cycle) == 2
    assert count(Submission) == 2 * count(Unit)
    statuses = db.session.scalars(select(Submission.status).where(Submission.cycle_id == last_year.id)).all()
    assert set(statuses) == {"accepted"}
    own = db.session.scalar(
        select(Submission).where(Submission.cycle_id == cycle.id, Submission.unit_id == agency.unit_id)
    )
    assert own.status == "not_started"  # demo-agency answers it in the browser
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Submission)
            .where(Submission.cycle_id == cycle.id, Submission.status == "submitted")
        )
        == 8
    )
    contacts = db.session.scalars(select(User).where(User.login_id.like("contact-%"))).all()
    assert contacts and not any(u.active for u in contacts)  # they cannot sign in


def test_seed_demo_cli_works_in_development(runner, app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "development")
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.login_id == "demo-center")) is not None


def test_create_user_applies_the_password_policy(runner, ctx):
    result = runner.invoke(
        args=[
            "create-user",
            "--login-id",
            "admin01",
            "--name",
            "管理 太郎",
            "--role",
            "admin",
            "--password",
            "password1234",
        ]
    )
    assert result.exit_code == 1 and "推測されやすい" in result.output
    assert db.session.scalar(select(User).where(User.login_id == "admin01")) is None
    result = runner.invoke(
        args=[
            "create-user",
            "--login-id",
            "admin01",
            "--name",
            "管理 太郎",
            "--role",
            "admin",
            "--password",
            "霞が関の朝は早いが珈琲は旨い",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.login_id == "admin01"))
    assert user.role == ADMIN and user.password_hash.startswith("$argon2id$")


def test_create_agency_user_needs_an_existing_unit(runner, ctx):
    result = runner.invoke(
        args=[
            "create-user",
            "--login-id",
            "someone",
            "--name",
            "誰か",
            "--role",
            "agency",
            "--unit",
            "no-such-unit",
            "--password",
            "霞が関の朝は早いが珈琲は旨い",
        ]
    )
    assert result.exit_code != 0 and "no-such-unit" in result.output
    result = runner.invoke(
        args=[
            "create-user",
            "--login-id",
            "someone",
            "--name",
            "誰か",
            "--role",
            "agency",
            "--password",
            "霞が関の朝は早いが珈琲は旨い",
        ]
    )
    assert result.exit_code == 1 and "所属機関が必要" in result.output


def test_demo_unit_names_follow_one_pattern():
    """Every demo unit is named ministry first, so lists and pages show the same name."""
    from agencyapp.demo import ORGANISATIONS

    for _, ministry, units in ORGANISATIONS:
        for _, name, _ in units:
            assert name.startswith(ministry + " "), name
