"""Password rules beyond Django's own (GB/T 22239 level 2: complexity)."""

from __future__ import annotations

import string

from django.core.exceptions import ValidationError

CLASSES = {
    "小写字母": set(string.ascii_lowercase),
    "大写字母": set(string.ascii_uppercase),
    "数字": set(string.digits),
}


class CharacterClassesValidator:
    """At least `min_classes` of: lower-case letters, upper-case letters, digits, other
    characters (punctuation, symbols, Chinese)."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def _classes(self, password: str) -> int:
        found = sum(1 for chars in CLASSES.values() if any(c in chars for c in password))
        others = any(not any(c in chars for chars in CLASSES.values()) for c in password)
        return found + others

    def validate(self, password: str, user=None) -> None:
        if self._classes(password) < self.min_classes:
            raise ValidationError(
                f"密码须至少包含小写字母、大写字母、数字、其他符号中的{self.min_classes}类。",
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return f"密码须至少包含小写字母、大写字母、数字、其他符号中的{self.min_classes}类。"
