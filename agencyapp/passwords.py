"""Password hashing (argon2id) and the password policy."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
# Verified against when the login id is unknown, so both failures take as long.
_DUMMY_HASH = _hasher.hash("dummy password for timing only")
MAX_LENGTH = 256


def hash_password(password):
    return _hasher.hash(password)


def verify_password(stored_hash, password):
    """True when ``password`` matches; never raises for a wrong password."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_time(password):
    """Spend the time of a verification, for an unknown login id."""
    verify_password(_DUMMY_HASH + "x", password)


def needs_rehash(stored_hash):
    return _hasher.check_needs_rehash(stored_hash)


def policy_problems(password, min_length=12, user_inputs=()):
    """Japanese reasons why ``password`` is refused (empty when it is acceptable)."""
    problems = []
    if len(password) < min_length:
        problems.append(f"パスワードは{min_length}文字以上にしてください。")
    if len(password) > MAX_LENGTH:
        problems.append(f"パスワードは{MAX_LENGTH}文字以下にしてください。")
    if problems:
        return problems
    lowered = password.lower()
    if any(value and value.lower() in lowered for value in user_inputs if len(value or "") >= 4):
        problems.append("ログインIDや氏名を含むパスワードは使用できません。")
    # zxcvbn knows the common-password lists; its cost grows with length, so
    # the first 100 characters decide (the whole password is still hashed).
    if zxcvbn(password[:100], user_inputs=[v for v in user_inputs if v], max_length=100)["score"] < 3:
        problems.append(
            "よく使われるパスワードや推測されやすいパスワードは使用できません。単語や数字の並びを避け、長くしてください。"
        )
    return problems
