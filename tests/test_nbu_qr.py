"""The NBU payment QR code: the link decoded back field by field against format 002, and the picture read
back with a QR reader (zxing-cpp), as a bank app would read it."""

from __future__ import annotations

import base64
import io
import re
import unicodedata
from dataclasses import replace
from decimal import Decimal

import pytest
import zxingcpp
from PIL import Image

from bot.dialogs.payment_qr import qr_code, qr_png
from bot.dialogs.render import render
from core.events import PaymentQr, Reply, decode_answer, encode_replies, t
from core.nbu_qr import (
    LINK_LIMIT,
    PaymentRequest,
    iban_valid,
    nbu_link,
    shortened,
    truncate,
)

PREFIX = "https://qr.bank.gov.ua/"
# field numbers of format 002 (NBU Resolution No. 97), as the tests read them: 1-based like the rules
NAMES = ["tag", "format", "encoding", "function", "reserved5", "recipient", "iban", "amount", "code",
         "reserved10", "reference", "purpose", "display"]
LIMITS = {"recipient": 70, "purpose": 140, "reference": 35, "display": 70}
HEAT = PaymentRequest(
    recipient="КП «Київтеплоенерго»", iban="UA213223130000026007233566001", code="40538421",
    amount=Decimal("1234.56"), purpose="Оплата за теплову енергію, о/р 100000000000001, за 11.2026")
LONG_PURPOSE = ("Оплата за теплову енергію та гаряче водопостачання, особовий рахунок 100000000000001, "
                "період 11.2026, вул. Хрещатик, 1, кв. 5")


def decoded(link: str) -> dict[str, str]:
    """A bank app's reading of the link: the prefix, Base64URL without padding, UTF-8, 13 LF-separated fields."""
    assert link.startswith(PREFIX)
    body = link.removeprefix(PREFIX)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", body), "Base64URL: no '+', '/' or '=' padding"
    lines = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8").split("\n")
    assert len(lines) == len(NAMES)
    fields = dict(zip(NAMES, lines))
    assert (fields["tag"], fields["format"], fields["encoding"], fields["function"]) == ("BCD", "002", "1", "UCT")
    assert fields["reserved5"] == fields["reserved10"] == ""
    for name, limit in LIMITS.items():
        assert len(fields[name]) <= limit, name
    assert fields["reference"].isascii()
    assert re.fullmatch(r"UA\d{27}", fields["iban"]) and iban_valid(fields["iban"])
    assert re.fullmatch(r"\d{8}|\d{10}", fields["code"])
    assert fields["amount"] == "" or re.fullmatch(r"UAH\d{1,9}\.\d\d", fields["amount"])
    assert fields["purpose"].strip()
    return fields


def read_back(png: bytes) -> list[zxingcpp.Barcode]:
    return list(zxingcpp.read_barcodes(Image.open(io.BytesIO(png))))


def test_the_link_carries_the_supplier_s_details_field_by_field_in_cyrillic():
    fields = decoded(nbu_link(HEAT))
    assert fields["recipient"] == "КП «Київтеплоенерго»"
    assert fields["iban"] == "UA213223130000026007233566001"
    assert fields["amount"] == "UAH1234.56"
    assert fields["code"] == "40538421"
    assert fields["reference"] == ""
    assert fields["purpose"] == "Оплата за теплову енергію, о/р 100000000000001, за 11.2026"
    assert fields["display"] == ""


@pytest.mark.parametrize("amount, field", [
    (Decimal("0.5"), "UAH0.50"), (Decimal("0.01"), "UAH0.01"), (Decimal("100"), "UAH100.00"),
    (Decimal("1E+2"), "UAH100.00"), (Decimal("1234.50"), "UAH1234.50"), (Decimal("999999999.99"), "UAH999999999.99"),
    (None, ""),
])
def test_the_amount_is_hryvnias_with_a_point_and_two_decimals_or_empty(amount, field):
    assert decoded(nbu_link(replace(HEAT, amount=amount)))["amount"] == field


def test_reference_and_display_travel_when_given():
    fields = decoded(nbu_link(replace(HEAT, reference="INV-2026-11-0001", display="Тепло, листопад 2026")))
    assert (fields["reference"], fields["display"]) == ("INV-2026-11-0001", "Тепло, листопад 2026")


def test_an_rnokpp_of_ten_digits_is_a_recipient_code_too():
    assert decoded(nbu_link(replace(HEAT, code="1234567890")))["code"] == "1234567890"


@pytest.mark.parametrize("change, message", [
    ({"amount": Decimal("0")}, "outside 0.01..999999999.99"),
    ({"amount": Decimal("-5.00")}, "outside"),
    ({"amount": Decimal("1000000000.00")}, "outside"),
    ({"amount": Decimal("12.345")}, "more than two decimals"),
    ({"amount": Decimal("NaN")}, "not a decimal number"),
    ({"recipient": "А" * 71}, "recipient: 71 characters, over the limit of 70"),
    ({"recipient": "  "}, "recipient: required"),
    ({"purpose": "П" * 141}, "purpose: 141 characters, over the limit of 140"),
    ({"purpose": ""}, "purpose: required"),
    ({"purpose": "Оплата\nза тепло"}, "purpose: a line break"),
    ({"display": "Д" * 71}, "display: 71 characters, over the limit of 70"),
    ({"reference": "R" * 36}, "reference: 36 characters, over the limit of 35"),
    ({"reference": "Рахунок-1"}, "reference: only printable ISO 646"),
    ({"iban": "UA213223130000026007233566002"}, "iban"),  # one digit off: the checksum fails
    ({"iban": "UA21322313000002600723356600"}, "iban"),  # 28 characters
    ({"iban": "PL61109010140000071219812874"}, "iban"),
    ({"code": "123456789"}, "neither an EDRPOU code"),
    ({"code": "4053842A"}, "neither an EDRPOU code"),
])
def test_a_request_that_breaks_a_limit_is_refused_naming_the_field(change, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        nbu_link(replace(HEAT, **change))


def test_format_003_is_not_offered():
    with pytest.raises(ValueError, match="'003' is not offered"):
        nbu_link(HEAT, version="003")


def test_limits_count_characters_not_bytes():
    assert len(decoded(nbu_link(replace(HEAT, recipient="Ї" * 70)))["recipient"]) == 70  # 140 bytes in UTF-8
    assert len(decoded(nbu_link(replace(HEAT, purpose="Ґ" * 140)))["purpose"]) == 140


def test_truncate_fits_a_field_cutting_at_a_word_with_an_ellipsis():
    text = LONG_PURPOSE + ", " + LONG_PURPOSE
    purpose = truncate(text, 140)
    assert len(purpose) <= 140 and purpose.endswith("…")
    assert text.startswith(purpose.removesuffix("…")) and text[len(purpose) - 1] == " "  # cut between words
    assert not purpose.removesuffix("…").endswith((" ", ","))


def test_truncate_keeps_a_short_text_and_flattens_line_breaks():
    assert truncate("Оплата\r\nза  тепло", 140) == "Оплата за тепло"
    assert truncate("x" * 140, 140) == "x" * 140


def test_truncate_never_parts_a_letter_from_its_accent():
    decomposed = unicodedata.normalize("NFD", "й" * 200)  # each "й" typed as "и" and a combining breve
    cut = truncate(decomposed, 140)
    assert cut == "й" * 139 + "…"


def test_shortened_cuts_the_purpose_until_the_link_fits_the_largest_qr_code():
    request = replace(HEAT, recipient="Р" * 70, purpose="П" * 140, reference="R" * 35)
    with pytest.raises(ValueError, match="shorten the purpose"):
        nbu_link(request)
    fitted = shortened(request)
    link = nbu_link(fitted)
    assert len(link) <= LINK_LIMIT
    assert decoded(link)["purpose"].endswith("…")
    assert (fitted.recipient, fitted.reference) == (request.recipient, request.reference)


def test_shortened_leaves_a_request_that_fits_as_it_is():
    assert shortened(HEAT) == HEAT


# the picture

@pytest.mark.parametrize("purpose", [HEAT.purpose, LONG_PURPOSE])
def test_the_picture_reads_back_as_the_link_within_versions_10_to_20(purpose):
    link = nbu_link(replace(HEAT, purpose=purpose))
    [barcode] = read_back(qr_png(link))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.text == link
    assert 10 <= int(qr_code(link).version) <= 20


def test_a_realistic_payment_is_drawn_at_error_correction_q():
    link = nbu_link(replace(HEAT, purpose=LONG_PURPOSE))
    assert qr_code(link).error == "Q"
    [barcode] = read_back(qr_png(link))
    assert barcode.ec_level == "Q"


def test_a_short_link_is_drawn_no_smaller_than_version_10():
    link = nbu_link(replace(HEAT, recipient="КП", purpose="Тепло", amount=None))
    assert int(qr_code(link).version) == 10
    [barcode] = read_back(qr_png(link))
    assert barcode.text == link


def test_the_longest_link_allowed_falls_back_to_level_m_within_version_20_and_still_reads():
    link = nbu_link(shortened(replace(HEAT, recipient="Р" * 70, purpose="П" * 140, reference="R" * 35)))
    qr = qr_code(link)
    assert (qr.error, int(qr.version)) == ("M", 20)
    [barcode] = read_back(qr_png(link))
    assert barcode.text == link


def test_the_hryvnia_sign_sits_in_a_white_circle_in_the_centre_inside_a_quiet_zone():
    png = qr_png(nbu_link(HEAT))
    image = Image.open(io.BytesIO(png)).convert("L")
    size = image.size[0]
    assert image.size == (size, size) and 800 <= size <= 1100  # big enough to scan from a phone screen
    qr = qr_code(nbu_link(HEAT))
    modules = qr.symbol_size(scale=1, border=0)[0]
    scale = size / (modules + 8)
    centre = size // 2
    radius = modules * scale * 0.22 / 2
    # the circle's rim is white all round...
    for step in range(36):
        angle = step * 10
        x = centre + int(0.92 * radius * _cos(angle))
        y = centre + int(0.92 * radius * _sin(angle))
        assert image.getpixel((x, y)) == 255, (angle, x, y)
    # ...and inside it the sign is dark: its horizontal bars cross the centre column
    column = [image.getpixel((centre, y)) for y in range(int(centre - radius / 2), int(centre + radius / 2))]
    assert any(isinstance(pixel, int) and pixel < 64 for pixel in column)
    # the quiet zone: 4 modules of white on every side
    band = int(4 * scale)
    for inner in range(size):
        for outer in (0, band - 1, size - band, size - 1):
            assert image.getpixel((inner, outer)) == 255 and image.getpixel((outer, inner)) == 255


def test_the_picture_still_reads_after_a_messenger_shrinks_and_recompresses_it():
    link = nbu_link(replace(HEAT, purpose=LONG_PURPOSE))
    image = Image.open(io.BytesIO(qr_png(link))).convert("RGB")
    small = image.resize((image.size[0] // 3, image.size[1] // 3), Image.Resampling.BILINEAR)
    jpeg = io.BytesIO()
    small.save(jpeg, format="JPEG", quality=60)
    [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(jpeg.getvalue())))
    assert barcode.text == link


# the reply that carries it

def test_a_reply_with_a_payment_qr_survives_the_outbox_round_trip():
    reply = Reply(t("menu"), (), None, PaymentQr(nbu_link(HEAT), t("payment_qr_caption")))
    assert decode_answer(encode_replies((reply,))).replies == (reply,)
    assert decode_answer(encode_replies((reply,), origin="42")).replies == (reply,)


def test_an_outbox_body_written_before_payment_qr_codes_still_decodes():
    old = '[{"$reply":[{"$text":"menu","p":{}},[],null]}]'
    assert decode_answer(old).replies == (Reply(t("menu")),)
    assert encode_replies((Reply(t("menu")),)) == old  # and a reply without one is written as before


def test_the_link_is_in_the_text_too_for_a_resident_reading_on_the_phone():
    link = nbu_link(HEAT)
    for language, caption in (("uk", "Відскануйте QR-код"), ("en", "Scan the QR code")):
        rendered = render(Reply(t("menu"), (), None, PaymentQr(link, t("payment_qr_caption"))), language)
        assert rendered.qr is not None and rendered.qr.link == link
        assert rendered.qr.caption.startswith(caption)
        assert rendered.text.endswith("\n" + link)
        assert len(rendered.qr.caption) <= 120  # Viber's picture caption


def _cos(degrees: int) -> float:
    import math
    return math.cos(math.radians(degrees))


def _sin(degrees: int) -> float:
    import math
    return math.sin(math.radians(degrees))
