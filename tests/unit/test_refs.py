from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.refs import (
    PhoneError,
    find_dr,
    find_ref,
    format_ref,
    is_external_ref,
    normalise_dr,
    normalise_phone,
    normalise_ref,
)


@pytest.mark.parametrize("text", ["FF000123", "ff123", "FF 123", "ff-000123", " Ff000123 "])
def test_loose_refs_find_ff000123(text: str) -> None:
    assert normalise_ref(text) == "FF000123"


@pytest.mark.parametrize("text", ["FF", "FF0", "GG123", "FF12a", "123", "", "FF 12 3"])
def test_not_refs(text: str) -> None:
    assert normalise_ref(text) is None


def test_refs_keep_growing_past_six_digits() -> None:
    assert format_ref(1) == "FF000001"
    assert format_ref(1234567) == "FF1234567"
    assert normalise_ref("ff1234567") == "FF1234567"


def test_find_ref_in_a_sentence() -> None:
    assert find_ref("please check ff-42 today") == "FF000042"
    assert find_ref("nothing here") is None


@pytest.mark.parametrize(
    ("text", "dr"),
    [("DR1234567", "DR1234567"), ("dr 1234567", "DR1234567"), ("DR-12345678", "DR12345678"),
     ("dr123456", "DR123456")],
)
def test_dr_forms(text: str, dr: str) -> None:
    assert normalise_dr(text) == dr
    assert find_dr(f"fault {text} no light") == dr


@pytest.mark.parametrize("text", ["DR12345", "DR123456789", "XDR1234567", "DR1234567X"])
def test_not_drs(text: str) -> None:
    assert find_dr(text) is None


def test_external_refs() -> None:
    assert is_external_ref("FT406824")
    assert not is_external_ref("FF000123")
    assert not is_external_ref("DR1234567")


@pytest.mark.parametrize(
    "text",
    ["082 123 4567", "+27821234567", "27821234567", "0821234567", "+27 82 123 4567",
     "082-123-4567", "0027821234567", "27821234567@c.us", "(082) 123 4567"],
)
def test_south_african_phones(text: str) -> None:
    assert normalise_phone(text) == "27821234567"


@pytest.mark.parametrize("text", ["12345", "hello", "082 123 456", "", "+27 82 123 45678"])
def test_bad_phones(text: str) -> None:
    with pytest.raises(PhoneError):
        normalise_phone(text)


@given(st.text(max_size=200))
def test_parsers_never_crash(text: str) -> None:
    normalise_ref(text)
    find_ref(text)
    normalise_dr(text)
    find_dr(text)
    with contextlib.suppress(PhoneError):
        normalise_phone(text)
