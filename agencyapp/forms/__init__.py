"""Input validation: WTForms for the sign-in forms, and small parsers for plain form fields."""

from datetime import date

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField("ログインID", validators=[DataRequired("ログインIDを入力してください。"), Length(max=64)])
    password = PasswordField("パスワード", validators=[DataRequired("パスワードを入力してください。"), Length(max=256)])


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        "現在のパスワード", validators=[DataRequired("現在のパスワードを入力してください。")]
    )
    new_password = PasswordField("新しいパスワード", validators=[DataRequired("新しいパスワードを入力してください。")])
    confirm_password = PasswordField(
        "新しいパスワード（確認）",
        validators=[
            DataRequired("確認のため新しいパスワードをもう一度入力してください。"),
            EqualTo("new_password", "確認用のパスワードが一致しません。"),
        ],
    )


def iso_date(value):
    """A date from an <input type="date"> value (YYYY-MM-DD), or None when empty or malformed."""
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None
