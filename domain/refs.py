"""Parsing the identifiers people type: ticket refs, DR numbers, phone numbers (SPEC 3.1, 2)."""

from __future__ import annotations

import re

REF_PREFIX = "FF"
REF_MIN_DIGITS = 6

# `FF000123`, `ff123`, `FF 123`, `ff-000123`; the digits must not run on into letters.
_REF_RE = re.compile(r"\bFF[\s\-]?(\d{1,9})\b", re.IGNORECASE)
_REF_FULL_RE = re.compile(r"^\s*FF[\s\-]?(\d{1,9})\s*$", re.IGNORECASE)
# External refs such as QContact's `FT406824`.
_EXTERNAL_RE = re.compile(r"\b([A-Z]{2}\d{5,10})\b", re.IGNORECASE)
_DR_RE = re.compile(r"\bDR[\s\-]?(\d{6,8})\b", re.IGNORECASE)
_DR_FULL_RE = re.compile(r"^\s*DR[\s\-]?(\d{6,8})\s*$", re.IGNORECASE)


def format_ref(number: int) -> str:
    """`FF` and the sequence number zero-padded to at least six digits."""
    if number < 1:
        raise ValueError("ticket numbers start at 1")
    return f"{REF_PREFIX}{number:0{REF_MIN_DIGITS}d}"


def ref_number(ref: str) -> int | None:
    """The sequence number of a ticket ref typed loosely (the whole text must be the ref)."""
    m = _REF_FULL_RE.match(ref)
    if not m:
        return None
    n = int(m.group(1))
    return n if n > 0 else None


def normalise_ref(text: str) -> str | None:
    """`ff-123` -> `FF000123`; None when the text is not a ticket ref."""
    n = ref_number(text)
    return format_ref(n) if n else None


def find_ref(text: str) -> str | None:
    """The first ticket ref mentioned anywhere in a message."""
    for m in _REF_RE.finditer(text):
        n = int(m.group(1))
        if n > 0:
            return format_ref(n)
    return None


def is_external_ref(text: str) -> bool:
    t = text.strip()
    return bool(_EXTERNAL_RE.fullmatch(t)) and ref_number(t) is None and normalise_dr(t) is None


def normalise_dr(text: str) -> str | None:
    """`dr 1234567` -> `DR1234567`; None when the whole text is not a DR number."""
    m = _DR_FULL_RE.match(text)
    return f"DR{m.group(1)}" if m else None


def find_dr(text: str) -> str | None:
    """The first DR number mentioned anywhere in a message."""
    m = _DR_RE.search(text)
    return f"DR{m.group(1)}" if m else None


class PhoneError(ValueError):
    pass


def normalise_phone(text: str) -> str:
    """A South African number in any usual form -> `27821234567`.

    Accepts `082 123 4567`, `+27 82 123 4567`, `27821234567`, `0027...`, `082-123-4567`,
    and WhatsApp ids such as `27821234567@c.us`. Other countries' full international
    numbers (11-15 digits with a country code other than 0) are kept as digits.
    """
    raw = text.strip()
    if "@" in raw:
        raw = raw.split("@", 1)[0]
    if not re.fullmatch(r"[+\d\s\-().]+", raw):
        raise PhoneError(f"'{text}' is not a phone number")
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("0") and len(digits) == 10:
        return "27" + digits[1:]
    if digits.startswith("27") and len(digits) == 11:
        return digits
    if len(digits) == 9 and digits[0] in "6789":
        return "27" + digits
    if raw.startswith(("+", "00")) and 11 <= len(digits) <= 15 and not digits.startswith("27"):
        return digits
    raise PhoneError(
        f"'{text}' is not a South African phone number (try 082 123 4567 or +27821234567)"
    )
