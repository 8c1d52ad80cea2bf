"""Operator commands: `flask --app wsgi <command> --help` explains each."""

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from agencyapp.config import DEVELOPMENT
from agencyapp.extensions import db
from agencyapp.unit_of_work import unit_of_work


def init_app(app):
    for command in (
        import_checklist_command,
        seed_demo_command,
        seed_scale_command,
        create_user_command,
        unlock_user_command,
        check_checklist_command,
        send_reminders_command,
        backup_command,
        restore_command,
    ):
        app.cli.add_command(command)


@click.command("import-checklist")
@with_appcontext
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--shipped", is_flag=True, help="同梱のチェックリスト（agencyapp/checklists/data/*.yaml）をすべて登録する"
)
def import_checklist_command(paths, shipped):
    """チェックリストのYAMLファイルを検証して登録する（同じ内容なら何もしない）。"""
    from agencyapp.checklists.loader import ChecklistError, load_checklist
    from agencyapp.demo import import_shipped_checklists
    from agencyapp.services import DomainError
    from agencyapp.services.checklists import import_checklist

    if shipped:
        with unit_of_work():
            versions = import_shipped_checklists()
        for version in versions:
            click.echo(f"登録済み: {version.code} {version.title}")
    failed = False
    for path in paths:
        try:
            with unit_of_work():  # one file, one transaction: a bad file leaves the others registered
                version, created = import_checklist(load_checklist(path))
        except ChecklistError as exc:
            failed = True
            click.echo(f"{path}: {len(exc.problems)}件の問題があるため登録しませんでした。", err=True)
            for problem in exc.problems:
                click.echo("  " + problem, err=True)
        except DomainError as exc:
            failed = True
            click.echo(f"{path}: {exc.message}", err=True)
        else:
            click.echo(("登録しました: " if created else "登録済み（変更なし）: ") + f"{version.code} {version.title}")
    if failed:
        raise SystemExit(1)


@click.command("check-checklist")
@with_appcontext
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def check_checklist_command(paths):
    """チェックリストのYAMLファイルを検証だけする（データベースは変更しない）。"""
    from agencyapp.checklists.loader import ChecklistError, load_checklist

    failed = False
    for path in paths:
        try:
            spec = load_checklist(path)
        except ChecklistError as exc:
            failed = True
            for problem in exc.problems:
                click.echo(problem, err=True)
        else:
            click.echo(f"{path}: 問題なし（管理目標 {len(spec.goals)}、設問 {len(spec.questions)}）")
    if failed:
        raise SystemExit(1)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """開発環境用のデモデータ（府省・機関・デモアカウント・今年度の点検）を作成する。何度実行しても同じ結果になる。"""
    if current_app.config["ENV_NAME"] != DEVELOPMENT:
        click.echo("デモデータは開発環境（AGENCYAPP_ENV=development）でのみ作成できます。", err=True)
        raise SystemExit(1)
    from agencyapp.demo import seed_demo

    with unit_of_work():
        seed_demo()
    click.echo("デモデータを用意しました（パスワードは README を参照）。")


@click.command("seed-scale")
@with_appcontext
@click.option("--units", type=click.IntRange(2, 100_000), default=2000, show_default=True, help="機関の数")
@click.option("--years", type=click.IntRange(1, 30), default=10, show_default=True, help="今年度までの年度の数")
@click.option(
    "--fresh", is_flag=True, help="既存のデータをすべて消してから作成する（付けないと、データがあるときは何もしない）"
)
@click.option("--seed", type=int, default=2026, show_default=True, help="乱数の種（同じ種なら同じデータ）")
def seed_scale_command(units, years, fresh, seed):
    """開発環境用に、全国規模の大量データ（府省・機関・利用者・各年度の点検・回答・改善点・ヒアリング・履歴）を作成する。"""
    if current_app.config["ENV_NAME"] != DEVELOPMENT:
        click.echo("大量データは開発環境（AGENCYAPP_ENV=development）でのみ作成できます。", err=True)
        raise SystemExit(1)
    from agencyapp.scale import seed_scale
    from agencyapp.services import DomainError

    try:
        with unit_of_work():  # one commit at the end; nothing is written if anything fails
            seed_scale(units, years, fresh=fresh, seed=seed, echo=click.echo)
    except DomainError as exc:
        click.echo(exc.message, err=True)
        raise SystemExit(1) from exc
    click.echo("大量データを用意しました（デモアカウントのパスワードは README を参照）。")


@click.command("create-user")
@with_appcontext
@click.option("--login-id", required=True, help="ログインID")
@click.option("--name", "display_name", required=True, help="氏名")
@click.option("--role", type=click.Choice(["agency", "center", "ministry", "admin"]), required=True, help="役割")
@click.option("--unit", "unit_code", help="機関コード（role=agency のとき必須）")
@click.option("--ministry", "ministry_code", help="府省コード（role=ministry のとき必須）")
@click.option("--email", default="", help="メールアドレス")
@click.password_option("--password", help="パスワード（12文字以上、推測されにくいもの）")
def create_user_command(login_id, display_name, role, unit_code, ministry_code, email, password):
    """利用者アカウントを作成する。"""
    from agencyapp.models import Ministry, Unit
    from agencyapp.services import DomainError
    from agencyapp.services.users import create_user

    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code)) if unit_code else None
    ministry = db.session.scalar(select(Ministry).where(Ministry.code == ministry_code)) if ministry_code else None
    if unit_code and unit is None:
        raise click.BadParameter(f"機関コード {unit_code} はありません。", param_hint="--unit")
    if ministry_code and ministry is None:
        raise click.BadParameter(f"府省コード {ministry_code} はありません。", param_hint="--ministry")
    try:
        with unit_of_work():
            user = create_user(
                login_id=login_id,
                display_name=display_name,
                role=role,
                unit=unit,
                ministry=ministry,
                email=email,
                password=password,
            )
    except DomainError as exc:
        click.echo(exc.message, err=True)
        raise SystemExit(1) from exc
    click.echo(f"作成しました: {user.login_id}（{user.role_label}）")


@click.command("unlock-user")
@with_appcontext
@click.argument("login_id")
def unlock_user_command(login_id):
    """ログイン失敗でロックされたアカウントのロックを解除する。"""
    from agencyapp.models import User
    from agencyapp.services.auth import unlock

    user = db.session.scalar(select(User).where(User.login_id == login_id))
    if user is None:
        click.echo(f"ログインID {login_id} はありません。", err=True)
        raise SystemExit(1)
    with unit_of_work():
        unlock(user)
    click.echo(f"ロックを解除しました: {login_id}")


@click.command("send-reminders")
@with_appcontext
@click.option("--days", type=int, default=None, help="何日前から通知するか（既定は設定 HEARING_REMINDER_DAYS）")
def send_reminders_command(days):
    """確定したヒアリング・訪問の事前通知を送る（cron などで1日1回実行する。同じ予定には一度だけ送る）。"""
    from agencyapp.services.hearings import send_reminders

    with unit_of_work():  # the mails go out once the reminders are recorded
        sent = send_reminders(days=days)
    click.echo(f"事前通知を送りました: {len(sent)}件")


@click.command("backup")
@with_appcontext
@click.argument("dest", type=click.Path(dir_okay=False, writable=True))
def backup_command(dest):
    """データベース（データベースに保存した添付ファイルを含む）のバックアップを DEST に作る。動かしたままで実行できる。

    SQLite はオンラインバックアップ API で一貫したコピーを作り、整合性を検査します。
    PostgreSQL は pg_dump -Fc を使います。
    ATTACHMENT_DIR に添付ファイルを置いている場合は、DEST.attachments.tar.gz も作ります。
    """
    from agencyapp import backup
    from agencyapp.services.audit import record

    try:
        done = backup.backup(
            current_app.config["SQLALCHEMY_DATABASE_URI"], dest, current_app.config.get("ATTACHMENT_DIR")
        )
    except backup.BackupError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    with unit_of_work():
        record("backup.created", actor_login="cli", summary=f"バックアップを作成しました（{done.path.name}）")
    click.echo(f"バックアップを作成しました: {done.path}（{done.size:,} バイト）")
    if done.files:
        click.echo(f"添付ファイル: {done.files}")


@click.command("restore")
@with_appcontext
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="確認なしで復元する")
def restore_command(source, yes):
    """バックアップ SOURCE からデータベースを復元する（今の内容はすべて置き換わる）。アプリを止めてから実行する。"""
    from agencyapp import backup
    from agencyapp.services.audit import record

    if not yes:
        click.confirm(
            "今のデータベースの内容を、バックアップの内容ですべて置き換えます。アプリを停止しましたか？続けますか？",
            abort=True,
        )
    db.session.remove()
    db.engine.dispose()  # no connection of ours stays open on the database being replaced
    try:
        done = backup.restore(
            current_app.config["SQLALCHEMY_DATABASE_URI"], source, current_app.config.get("ATTACHMENT_DIR")
        )
    except backup.BackupError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    with unit_of_work():
        record("backup.restored", actor_login="cli", summary=f"バックアップから復元しました（{done.path.name}）")
    click.echo(f"復元しました: {done.path}")
