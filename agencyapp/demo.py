"""Demo organisations, accounts and the current cycle (development only, idempotent)."""

from datetime import date, timedelta

from sqlalchemy import select

from agencyapp import passwords
from agencyapp.checklists import DATA_DIR
from agencyapp.checklists.loader import load_checklist
from agencyapp.extensions import db
from agencyapp.formatting import today_tokyo
from agencyapp.models import ChecklistSection, ChecklistVersion, Cycle, Ministry, Unit, User
from agencyapp.services.audit import record
from agencyapp.services.checklists import import_checklist
from agencyapp.services.cycles import add_targets, open_cycle

DEMO_PASSWORD = "demo-pass-2026"

# (ministry code, ministry name, [(unit code, unit name, kind)])
ORGANISATIONS = [
    (
        "mhlw",
        "厚生労働省",
        [
            ("mhlw-nenkin", "厚生労働省 年金局", "原局"),
            ("mhlw-engo", "厚生労働省 社会・援護局 援護・業務課", "原局"),
            ("mhlw-koyo", "厚生労働省 職業安定局 雇用保険課", "原局"),
            ("mhlw-rousai", "厚生労働省 労働基準局 労災管理課", "原局"),
            ("mhlw-jpn", "厚生労働省 日本年金機構", "法人"),
        ],
    ),
    (
        "mofa",
        "外務省",
        [
            ("mofa-ryoji", "外務省 領事局旅券課", "原局"),
            ("mofa-ryoji-sv", "外務省 領事局 海外邦人安全課", "原局"),
        ],
    ),
    (
        "soumu",
        "総務省",
        [
            ("soumu-onkyu", "総務省 政策統括官（恩給担当）付 恩給業務課", "原局"),
            ("soumu-chikyo", "総務省 地方公務員共済組合連合会", "共済組合"),
            ("soumu-kokyo", "総務省 公立学校共済組合", "共済組合"),
        ],
    ),
    (
        "mof",
        "財務省",
        [
            ("mof-kkr", "財務省 国家公務員共済組合連合会", "共済組合"),
            ("mof-kyusai", "財務省 主計局 給与共済課", "原局"),
        ],
    ),
    (
        "mext",
        "文部科学省",
        [
            ("mext-shigaku", "文部科学省 日本私立学校振興・共済事業団", "法人"),
            ("mext-gakusei", "文部科学省 高等教育局 学生支援課", "原局"),
            ("mext-kyoin", "文部科学省 総合教育政策局 教育人材政策課", "原局"),
        ],
    ),
    (
        "mlit",
        "国土交通省",
        [
            ("mlit-fudosan", "国土交通省 不動産・建設経済局 不動産業課", "原局"),
            ("mlit-kenchiku", "国土交通省 住宅局 建築指導課", "原局"),
            ("mlit-kaiji", "国土交通省 海事局 船員政策課", "原局"),
        ],
    ),
    (
        "maff",
        "農林水産省",
        [
            ("maff-nenkin", "農林水産省 独立行政法人農業者年金基金", "法人"),
            ("maff-keiei", "農林水産省 経営局 就農・女性課", "原局"),
        ],
    ),
    (
        "moj",
        "法務省",
        [
            ("moj-koseki", "法務省 民事局 民事第一課", "原局"),
            ("moj-kosei", "法務省 保護局 総務課", "原局"),
        ],
    ),
]

# login id, display name, role, unit code or ministry code
ACCOUNTS = [
    ("demo-agency", "年金 花子", "agency", "mhlw-nenkin"),
    ("demo-agency2", "旅券 一郎", "agency", "mofa-ryoji"),
    # A unit with internal approval (決裁): its contact sends the self-check to its approver before submitting.
    ("demo-contact", "主計 四郎", "agency", "mof-kyusai"),
    ("demo-approver", "決裁 五郎", "agency", "mof-kyusai"),
    ("demo-center", "情報 太郎", "center", None),
    ("demo-ministry", "統括 次郎", "ministry", "mhlw"),
    ("demo-admin", "管理 三郎", "admin", None),
]

APPROVERS = {"demo-approver"}  # demo accounts that approve their unit's self-check (承認者)
DEMO_FISCAL_YEAR = 2026
NATIONAL_CODE = "national-r8"
IMPORTANT_CATEGORY_TITLE = "委託先の管理"


def import_shipped_checklists():
    """Import every data file shipped with the product (idempotent); returns the versions."""
    versions = []
    for path in sorted(DATA_DIR.glob("*.yaml")):
        version, _ = import_checklist(load_checklist(path))
        versions.append(version)
    return versions


def _get_or_create(model, lookup, **values):
    row = db.session.scalar(select(model).filter_by(**lookup))
    if row is None:
        row = model(**lookup, **values)
        db.session.add(row)
        db.session.flush()
    return row


PHRASES = [
    ("規程の整備", "関係規程を整備（又は改正）し、職員に周知したうえで、整備した規程の写しを提出してください。"),
    ("記録の保管", "記録を定められた期間保管する手順を定め、保管状況を確認した結果を報告してください。"),
    (
        "委託契約の見直し",
        "委託契約書に再委託の制限、資料の返還・廃棄、目的外使用の禁止、秘密保持、事故報告の条項を設け、改定後の契約書の該当部分を提出してください。",
    ),
    ("定期点検", "年1回以上、実施状況を点検し、その結果を統括課に報告する手順を定めてください。"),
]
SUBMITTED_NOW = 8  # units (other than the demo accounts' own) that have already submitted this year


def _contact(unit, password_hash):
    """An inactive contact person per unit, to whom the demo's past answers belong (cannot sign in)."""
    login_id = f"contact-{unit.code}"
    user = db.session.scalar(select(User).where(User.login_id == login_id))
    if user is None:
        user = User(
            login_id=login_id,
            display_name=f"{unit.name} 担当者",
            role="agency",
            unit_id=unit.id,
            email="",
            password_hash=password_hash,
            active=False,
        )
        db.session.add(user)
        db.session.flush()
    return user


def _answer_and_submit(submission, user, rng, good):
    """Answer every applicable question (mostly 3, some lower) and freeze it, as the unit would."""
    from agencyapp.checklists.conditions import applicability
    from agencyapp.lifecycles import SUBMISSION
    from agencyapp.models import Answer
    from agencyapp.services.selfcheck import freeze, load_state

    state = load_state(submission)
    values = {}
    for question in state.structure.questions:
        roll = rng.random()
        value = 3 if roll < good else 2 if roll < good + (1 - good) * 0.7 else 1
        if question.allow_zero and rng.random() < 0.05:
            value = 0
        values[question.number] = value
    applies = applicability(state.structure.questions, values)
    for question in state.structure.questions:
        if applies[question.number]:
            db.session.add(
                Answer(
                    submission_id=submission.id,
                    question_id=question.id,
                    value=values[question.number],
                    note="",
                    updated_by_id=user.id,
                )
            )
    db.session.flush()
    freeze(submission, user, load_state(submission))
    # Seed data: history written for a contact who never signs in, so the step is taken from the table directly.
    submission.status = SUBMISSION.target_of("submit", submission.status).value


def _past_and_present(units, version, current):
    """Last year's accepted self-checks for every unit, and this year's from a few units."""
    import random

    from agencyapp.lifecycles import SubmissionState
    from agencyapp.models import Submission
    from agencyapp.services import workflow

    previous = db.session.scalar(
        select(Cycle).where(Cycle.fiscal_year == DEMO_FISCAL_YEAR - 1, Cycle.version_id == version.id)
    )
    if previous is not None:
        return
    center = db.session.scalar(select(User).where(User.login_id == "demo-center"))
    goals = [g.number for g in current.important_goals]
    previous = open_cycle(
        fiscal_year=DEMO_FISCAL_YEAR - 1,
        version=version,
        title="住基ネットセキュリティ対策自己点検（国の行政機関等）",
        opens_on=date(2025, 10, 1),
        due_on=date(2026, 1, 30),
        important_goal_numbers=goals,
        important_label=IMPORTANT_CATEGORY_TITLE,
        units=units,
    )
    password_hash = passwords.hash_password(DEMO_PASSWORD + "-contact")
    own_units = {"mhlw-nenkin", "mofa-ryoji"}
    submitted_now = 0
    for unit in units:
        rng = random.Random(unit.code)
        contact = _contact(unit, password_hash)
        past = db.session.scalar(
            select(Submission).where(Submission.cycle_id == previous.id, Submission.unit_id == unit.id)
        )
        _answer_and_submit(past, contact, rng, good=rng.uniform(0.7, 0.95))
        if unit.code == OPEN_POINT_UNIT:
            _open_point(past, center)
        workflow.apply(past, "accept", center, summary="自己点検を確認済にしました（デモデータ）")
        past.reviewed_by_id, past.reviewed_at = center.id, past.submitted_at
        if unit.code not in own_units and submitted_now < SUBMITTED_NOW:
            now = db.session.scalar(
                select(Submission).where(Submission.cycle_id == current.id, Submission.unit_id == unit.id)
            )
            if now.state is SubmissionState.NOT_STARTED:
                _answer_and_submit(now, contact, rng, good=rng.uniform(0.6, 0.95))
                submitted_now += 1
    record("demo.history", actor_login="demo-seed", summary="デモ用に前年度の点検結果と今年度の提出を作成しました")
    db.session.flush()


# Last year's improvement point still open in the demo: closing last year carries it into this year.
OPEN_POINT_UNIT = "mhlw-engo"


def _open_point(submission, center):
    """One improvement point issued on last year's self-check and not answered yet."""
    from agencyapp.services import improvements
    from agencyapp.services.selfcheck import load_state

    state = load_state(submission)
    number = min(state.values, key=lambda n: (state.values[n] or 9, n))
    point = improvements.add_point(
        center,
        submission,
        number,
        "委託先の作業場所への立入確認が行われていない。",
        "委託契約に立入確認の条項を設け、年1回以上確認し、その記録を残すこと。",
    )
    db.session.flush()
    due = today_tokyo() + timedelta(days=14)  # the service takes only a future due date
    improvements.issue_request(center, submission, [point.id], due, "前年度の自己点検に基づく改善依頼です。")


def _phrases():
    from agencyapp.models import Phrase

    center = db.session.scalar(select(User).where(User.login_id == "demo-center"))
    for kind, rows in (("finding", PHRASES), ("reminder", REMINDER_PHRASES)):
        if db.session.scalar(select(Phrase.id).where(Phrase.kind == kind).limit(1)) is not None:
            continue
        for title, body in rows:
            db.session.add(Phrase(title=title, body=body, kind=kind, updated_by_id=center.id))
    db.session.flush()


REMINDER_PHRASES = [
    (
        "提出期限の1週間前",
        "自己点検の提出期限が1週間後に迫っています。未回答の設問への回答と提出をお願いします。"
        "ご不明な点は地方自治情報センターまでお問い合わせください。",
    ),
    (
        "提出期限の超過",
        "自己点検の提出期限を過ぎています。至急、回答と提出をお願いします。",
    ),
    (
        "改善点の回答期限の超過",
        "改善依頼の回答期限を過ぎた改善点があります。改善計画又は完了報告の回答をお願いします。",
    ),
]


def seed_demo():
    """Create the demo data; running it again changes nothing."""
    import_shipped_checklists()
    units = []
    ministries = {}
    for m_index, (m_code, m_name, unit_rows) in enumerate(ORGANISATIONS):
        ministry = _get_or_create(Ministry, {"code": m_code}, name=m_name, position=m_index)
        ministries[m_code] = ministry
        for u_index, (u_code, u_name, kind) in enumerate(unit_rows):
            units.append(
                _get_or_create(
                    Unit, {"code": u_code}, ministry_id=ministry.id, name=u_name, kind=kind, position=u_index
                )
            )
    unit_by_code = {u.code: u for u in units}
    demo_hash = None
    for login_id, name, role, scope in ACCOUNTS:
        if db.session.scalar(select(User).where(User.login_id == login_id)):
            continue
        demo_hash = demo_hash or passwords.hash_password(DEMO_PASSWORD)
        user = User(
            login_id=login_id,
            display_name=name,
            role=role,
            email=f"{login_id}@example.invalid",
            password_hash=demo_hash,
            unit_id=unit_by_code[scope].id if role == "agency" else None,
            ministry_id=ministries[scope].id if role == "ministry" else None,
            approver=login_id in APPROVERS,
        )
        db.session.add(user)
        db.session.flush()
        record("user.created", obj=user, actor_login="demo-seed", summary=f"デモアカウント {login_id} を作成しました")
    db.session.flush()

    version = db.session.scalar(select(ChecklistVersion).where(ChecklistVersion.code == NATIONAL_CODE))
    cycle = db.session.scalar(
        select(Cycle).where(Cycle.fiscal_year == DEMO_FISCAL_YEAR, Cycle.version_id == version.id)
    )
    if cycle is None:
        category = db.session.scalar(
            select(ChecklistSection).where(
                ChecklistSection.version_id == version.id,
                ChecklistSection.level == 1,
                ChecklistSection.title.contains(IMPORTANT_CATEGORY_TITLE),
            )
        )
        from agencyapp.services.checklists import load_structure

        structure = load_structure(version)
        node = next(c for c in structure.categories if c.section.id == category.id)
        goals = sorted({q.goal_number for q in node.all_questions()})
        cycle = open_cycle(
            fiscal_year=DEMO_FISCAL_YEAR,
            version=version,
            title="住基ネットセキュリティ対策自己点検（国の行政機関等）",
            opens_on=date(2026, 10, 1),
            due_on=date(2027, 1, 29),
            important_goal_numbers=goals,
            important_label=IMPORTANT_CATEGORY_TITLE,
            units=units,
        )
    else:
        add_targets(cycle, units)
    _past_and_present(units, version, cycle)
    _phrases()
