"""Characters that no value reaching the product may carry, and those removed from text.

PostgreSQL refuses NUL in text and UTF-8 cannot encode a lone surrogate, so such a value
would reach the database only to fail there as a server error; the other control
characters and the noncharacters have no place in official data either. Tab, CR and LF are
allowed in field values (multi-line text) but not in names, paths or file names.
"""

from __future__ import annotations

import re

# U+FDD0–U+FDEF and the last two code points of every plane are noncharacters.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF) for plane in range(17)
)
# C0 controls, DEL, C1 controls, lone surrogates and noncharacters.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff" + _NONCHARACTERS + "]")
# The same, but tab, LF and CR may stand in a field's value.
_CONTROL_IN_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff" + _NONCHARACTERS + "]"
)
# A header is ISO-8859-1 text in WSGI: bytes 0x80–0x9F there are UTF-8 continuation bytes of
# ordinary characters, not C1 controls, so only C0 controls and DEL are looked for.
_CONTROL_IN_HEADER = re.compile("[\x00-\x1f\x7f]")
# Embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069): they make stored text
# display in another order than it reads ("报告\u202efdp.exe"). ZWJ/ZWNJ are kept: scripts
# need them.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def has_control(value: str) -> bool:
    """A control character, surrogate or noncharacter anywhere (names, paths, file names)."""
    return bool(_CONTROL.search(value))


def has_control_in_text(value: str) -> bool:
    """As has_control, but tab, LF and CR are allowed (a field's multi-line value)."""
    return bool(_CONTROL_IN_TEXT.search(value))


def has_control_in_header(value: str) -> bool:
    return bool(_CONTROL_IN_HEADER.search(value))


def strip_header_controls(value: str) -> str:
    return _CONTROL_IN_HEADER.sub("", value)


def strip_bidi(value: str) -> str:
    """The text without bidirectional embedding, override or isolate characters."""
    return _BIDI.sub("", value)
