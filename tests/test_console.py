"""The console channel as a resident types into it: numbers are values where a value is asked for."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone


from bot.console.channel import ConsoleChannel
from tests.conftest import HEAT
from tests.fakes import FakeUnitOfWork

async def console(service, store, *lines: str) -> str:
    """What the terminal shows for the typed lines, after the screen the console opens with."""
    out = io.StringIO()
    channel = ConsoleChannel(service, out, "7", uow_factory=lambda: FakeUnitOfWork(store))
    await channel.run(io.StringIO("".join(f"{line}\n" for line in lines)))
    return out.getvalue()


def after(output: str, typed: str) -> str:
    """The part of the output that answers the last line typed as ``typed``."""
    return output.rsplit(f"> {typed}\n", 1)[1]


LINK_HEAT = ("2", "1", "Тепло та гаряча вода", HEAT, "1234,56")  # my accounts, add, supplier, number, payment


async def test_buttons_are_listed_with_the_prefix_and_the_console_says_how_to_press_them(service, store):
    output = await console(service, store)
    assert "  #1) 📝 Передати показники\n" in output
    assert "Кнопки: введіть #1, #2… або напис на кнопці." in output


async def test_at_the_menu_a_bare_number_presses_the_button(service, store):
    output = await console(service, store, "1")
    assert "Спершу додайте особовий рахунок." in after(output, "1")  # 1: "submit readings", with nothing linked


async def test_a_bare_number_at_the_apartment_step_is_the_apartment(service, store):
    store.add_account("water", "20000001", payment=None, apartment="1",
                      meters=[{"service": "cold_water", "last": "10", "on": date(2026, 10, 1)}])
    output = await console(service, store, "2", "1", "Холодна вода", "20000001", "#1", "1")
    assert "Введіть номер квартири" in after(output, "#1")  # #1: "no payments yet: the apartment number"
    assert "✅ Рахунок Холодна вода •••0001 додано." in after(output, "1")


async def test_a_bare_number_at_a_meter_prompt_is_the_reading(service, store, heat_account):
    output = await console(service, store, *LINK_HEAT, "1", "1")
    answer = after(output, "1")
    assert "Показник 1 Гкал менший за попередній (1520,125 Гкал)" in answer
    assert "Лічильник 2 з 2" not in answer


async def test_the_prefix_presses_a_button_at_a_meter_prompt(service, store, heat_account):
    output = await console(service, store, *LINK_HEAT, "#1", "#1")
    assert "Лічильник 1 з 2" in after(output, "1234,56")  # the first #1: "submit readings" at the menu
    assert "Лічильник 2 з 2" in after(output, "#1")  # the second: "unchanged" at the meter prompt


async def test_the_console_saves_a_payment_qr_to_a_file_and_prints_the_link(service, store, tmp_path, monkeypatch):
    import tempfile

    import zxingcpp
    from PIL import Image

    from core.events import ChatRef, PaymentQr, Reply, encode_replies, t
    from core.nbu_qr import nbu_link
    from tests.test_nbu_qr import HEAT

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    link = nbu_link(HEAT)
    async with FakeUnitOfWork(store) as uow:  # sent while the console was closed: shown at launch
        await uow.outbox.add(ChatRef("console", "local"), "uk",
                             encode_replies((Reply(t("menu"), (), None, PaymentQr(link, t("payment_qr_caption"))),)),
                             datetime(2026, 11, 20, 10, tzinfo=timezone.utc))
        await uow.commit()
    out = io.StringIO()
    console = ConsoleChannel(service, out, "local", uow_factory=lambda: FakeUnitOfWork(store))
    await console.show_waiting()
    lines = out.getvalue().splitlines()
    assert link in lines  # on a line of its own: a terminal makes it clickable
    assert "Відскануйте QR-код у застосунку банку — реквізити й сума заповняться самі. " \
           "Бот не бачить даних вашої картки." in lines
    [saved] = [line for line in lines if line.startswith("₴ ")]
    path = saved.removeprefix("₴ QR-код для оплати збережено у файл: ")
    assert path.startswith(str(tmp_path / "komunalka-charts"))
    [barcode] = zxingcpp.read_barcodes(Image.open(path))
    assert barcode.text == link
