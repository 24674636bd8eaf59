"""The NBU payment QR code's payload: the link a resident's bank app reads to fill in a transfer.

National Bank of Ukraine Resolution No. 97 of 2025-08-19 (in force from 2025-11-01), format 002: the
link ``https://qr.bank.gov.ua/`` followed by the Base64URL encoding (RFC 4648 §5, no padding) of UTF-8
text made of 13 fields, each ended by LF except the last:

====  =====================  =====================================================================
 #    field                  what goes in
====  =====================  =====================================================================
 1    service tag            ``BCD``
 2    format version         ``002``
 3    encoding               ``1`` (UTF-8; ``2`` would be Windows-1251)
 4    function               ``UCT`` (credit transfer)
 5    reserved               empty (the BIC in the 2021 rules)
 6    recipient              the supplier's name, up to 70 characters
 7    account                the supplier's IBAN: ``UA`` and 27 digits, the checksum valid
 8    amount                 ``UAH`` and the amount with a point and two decimals (``UAH1234.50``),
                             0.01 to 999999999.99; empty when the payer types the amount
 9    recipient code         EDRPOU (8 digits) or RNOKPP (10 digits)
 10   reserved               empty (the purpose code in the 2021 rules)
 11   reference              up to 35 characters of ISO 646 (ASCII); may be empty
 12   purpose                up to 140 characters; required
 13   display                up to 70 characters shown to the payer; may be empty
====  =====================  =====================================================================

Verified against: the NBU's rules of 2021 (Resolution No. 11, appendix 2: the field order, the lengths
in characters for texts and in ISO 646 bytes for the reference, the ``UAH576.45`` amount example); the
field order of format 002 under Resolution No. 97 as the Elixir library qr_nbu_ex 0.3.3 implements it
(hexdocs.pm/qr_nbu_ex: QRNBU.Encoders.Formatter, Validators.Recipient 70, Validators.Purpose 140,
Validators.Amount 0.01..999999999.99 with exactly two decimals); the new link prefix there and in the
PHP generator opencartbot/nbu-qr-v3; the news of Resolution No. 97 (psm7.com, 2025-10-22) for the
image: QR version 10 to 20, error correction Q, M or L, the hryvnia sign in a white circle in the
centre, mandatory for formats 002 and 003. The display field keeps the 2021 limit of 70 characters,
the smaller of the two published (70 and 140): a text that fits 70 fits both.

Format 003 (17 fields: a unique recipient id, an ISO 20022 category purpose, a field lock mask, the
invoice's validity and creation times and a signature) is not offered: the two implementations found
disagree on its limits (purpose 280 against 420 characters), and we use none of its extra fields.

A link must also fit the largest QR code the rules allow (version 20) at error correction level M:
666 bytes; a longer link is refused, and :func:`shortened` cuts a purpose until it fits.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass, replace
from decimal import Decimal

from stdnum import iban as stdnum_iban

from core.money import KOPIYKA

LINK_PREFIX = "https://qr.bank.gov.ua/"
FORMAT = "002"
SERVICE_TAG = "BCD"
ENCODING_UTF8 = "1"
FUNCTION = "UCT"
CURRENCY = "UAH"

RECIPIENT_LIMIT = 70
PURPOSE_LIMIT = 140
REFERENCE_LIMIT = 35
DISPLAY_LIMIT = 70
LINK_LIMIT = 666  # bytes in a version-20 QR code at level M: the largest the rules allow with a logo we can keep
MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")

_IBAN = re.compile(r"UA\d{27}")
_CODE = re.compile(r"\d{8}|\d{10}")
_ELLIPSIS = "…"


@dataclass(frozen=True)
class PaymentRequest:
    """A transfer to a supplier: only its public payment details, never anything of the payer's.

    ``amount`` is exact (kopiyky at most) or None when the payer types it; ``code`` is the EDRPOU
    (8 digits) or RNOKPP (10 digits).
    """

    recipient: str
    iban: str
    code: str
    amount: Decimal | None
    purpose: str
    reference: str = ""
    display: str = ""


def nbu_link(request: PaymentRequest, version: str = FORMAT) -> str:
    """The link a bank app opens, ``https://qr.bank.gov.ua/`` and the encoded fields.

    Raises ValueError naming the field and the limit for a request the format cannot carry.
    """
    if version != FORMAT:
        raise ValueError(f"NBU QR format {version!r} is not offered; use {FORMAT!r}")
    link = _link_unchecked(request)
    if len(link) > LINK_LIMIT:
        raise ValueError(f"the link is {len(link)} characters, over the {LINK_LIMIT} a version-20 QR code "
                         "holds at level M: shorten the purpose")
    return link


def fields(request: PaymentRequest) -> list[str]:
    """The 13 fields of format 002 in their order, checked; see the module's table."""
    return [
        SERVICE_TAG, FORMAT, ENCODING_UTF8, FUNCTION, "",
        _text("recipient", request.recipient, RECIPIENT_LIMIT, required=True),
        _iban(request.iban),
        amount_field(request.amount),
        _code(request.code),
        "",
        _reference(request.reference),
        _text("purpose", request.purpose, PURPOSE_LIMIT, required=True),
        _text("display", request.display, DISPLAY_LIMIT, required=False),
    ]


def amount_field(amount: Decimal | None) -> str:
    """``UAH`` and the amount with two decimals; empty for no amount. Never rounds: money is exact."""
    if amount is None:
        return ""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError(f"amount: {amount!r} is not a decimal number")
    if amount != amount.quantize(KOPIYKA):
        raise ValueError(f"amount: {amount} has more than two decimals (kopiyky)")
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise ValueError(f"amount: {amount} is outside {MIN_AMOUNT}..{MAX_AMOUNT}")
    return f"{CURRENCY}{amount.quantize(KOPIYKA):f}"


def iban_valid(iban: str) -> bool:
    """A Ukrainian IBAN: ``UA``, two check digits and 25 more digits, its ISO 13616 checksum right
    (python-stdnum's check, the one the supplier file is loaded with)."""
    return _IBAN.fullmatch(iban) is not None and stdnum_iban.is_valid(iban)


def truncate(text: str, limit: int) -> str:
    """A text made to fit a field of ``limit`` characters: line breaks (which would end the field) and
    runs of spaces become one space, and a text too long is cut at a word where one is near, with "…".
    Composed (NFC) first, so that a letter and its accent are never cut apart."""
    if limit < 1:
        raise ValueError("a field holds at least one character")
    flat = " ".join(unicodedata.normalize("NFC", text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit - len(_ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= len(cut) * 3 // 4:  # a word boundary near the end; otherwise cut the word itself
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + _ELLIPSIS


def shortened(request: PaymentRequest) -> PaymentRequest:
    """The request with its purpose cut (see :func:`truncate`) to the field's limit and, where the link
    would still not fit a QR code, further until it does. Other fields are left as they are."""
    purpose = truncate(request.purpose, PURPOSE_LIMIT)
    while True:
        candidate = replace(request, purpose=purpose)
        if len(_link_unchecked(candidate)) <= LINK_LIMIT or len(purpose) <= 1:
            return candidate
        purpose = truncate(purpose, len(purpose) - 1)


def _link_unchecked(request: PaymentRequest) -> str:
    data = "\n".join(fields(request)).encode("utf-8")
    return LINK_PREFIX + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _text(name: str, value: str, limit: int, *, required: bool) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"{name}: a line break would end the field early (use truncate())")
    if required and not value.strip():
        raise ValueError(f"{name}: required, and empty")
    if len(value) > limit:
        raise ValueError(f"{name}: {len(value)} characters, over the limit of {limit} (use truncate())")
    return value


def _iban(iban: str) -> str:
    if not iban_valid(iban):
        raise ValueError(f"iban: {iban!r} is not a Ukrainian IBAN (UA and 27 digits, the checksum right)")
    return iban


def _code(code: str) -> str:
    if not _CODE.fullmatch(code):
        raise ValueError(f"code: {code!r} is neither an EDRPOU code (8 digits) nor an RNOKPP (10 digits)")
    return code


def _reference(reference: str) -> str:
    if not (reference.isascii() and reference.isprintable()):
        raise ValueError("reference: only printable ISO 646 (ASCII) characters are allowed")
    if len(reference) > REFERENCE_LIMIT:
        raise ValueError(f"reference: {len(reference)} characters, over the limit of {REFERENCE_LIMIT}")
    return reference
