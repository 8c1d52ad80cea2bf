"""WTForms: input validation only."""
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField("ログインID", validators=[DataRequired("ログインIDを入力してください。"), Length(max=64)])
    password = PasswordField("パスワード", validators=[DataRequired("パスワードを入力してください。"), Length(max=256)])


class PasswordForm(FlaskForm):
    current_password = PasswordField("現在のパスワード", validators=[DataRequired("現在のパスワードを入力してください。")])
    new_password = PasswordField("新しいパスワード", validators=[DataRequired("新しいパスワードを入力してください。")])
    confirm_password = PasswordField(
        "新しいパスワード（確認）",
        validators=[DataRequired("確認のため新しいパスワードをもう一度入力してください。"),
                    EqualTo("new_password", "確認用のパスワードが一致しません。")],
    )
