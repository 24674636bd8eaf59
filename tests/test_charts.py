"""History charts: one panel per unit, labels in the resident's language, drawn off the event loop."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import tempfile
import time
from datetime import date, datetime

import pytest

from bot.console.channel import ConsoleChannel
from bot.dialogs.chart_drawer import ChartDrawer
from bot.dialogs.render import RenderedChart, RenderedPanel, render, render_text
from core.events import ButtonPressed, Chart, ChartLine, ChartPanel, Reply, decode_replies, encode_replies, t
from tests.conftest import KYIV
from tests.fakes import FakeUnitOfWork
from tests.conftest import HEAT
from tests.test_conversation import link, submit_start

CYRILLIC = re.compile("[а-яА-ЯіІїЇєЄґҐ]")


@pytest.fixture
def flat(store):
    """A heat account as the demo has it: heating in Gcal, hot water in m³ in the kitchen and the bathroom."""
    return store.add_account("heat", HEAT, payment="1234.56", meters=[
        {"serial": "HT-0001", "service": "heating", "last": "1500", "on": date(2026, 9, 28)},
        {"serial": "HW-1001", "service": "hot_water", "last": "300", "on": date(2026, 9, 28)},
        {"serial": "HW-1002", "service": "hot_water", "last": "90", "on": date(2026, 9, 28)},
    ])


@pytest.fixture(scope="module")
def drawer():
    charts = ChartDrawer()
    yield charts
    charts.close()


async def hand_in_two_months(talk, clock) -> None:
    await link(talk)
    for month, values in ((10, ("1508", "303", "91")), (11, ("1520", "307", "93"))):
        clock.now = datetime(2026, month, 20, 12, tzinfo=KYIV)
        await submit_start(talk)
        for value in values:
            await talk.say(value)
        await talk.press("btn_confirm")


async def history_chart(talk) -> Chart:
    await talk.start()
    await talk.press("btn_history")
    [chart] = [r.chart for r in talk.last if r.chart is not None]
    return chart


async def test_a_heat_account_s_chart_never_draws_gcal_and_m3_on_one_axis(talk, clock, flat):
    await hand_in_two_months(talk, clock)
    chart = await history_chart(talk)
    units = [panel.axis.params["unit"].key for panel in chart.panels]
    assert units == ["unit_gcal", "unit_m3"]
    gcal, m3 = chart.panels
    assert [render_text(line.label, "en") for line in gcal.lines] == ["Heating"]
    assert [render_text(line.label, "en") for line in m3.lines] == ["Hot water, No. …1001", "Hot water, No. …1002"]
    assert [line.values for line in gcal.lines] == [(8.0, 12.0)]
    assert [line.values for line in m3.lines] == [(3.0, 4.0), (1.0, 2.0)]


async def test_chart_labels_are_in_english_for_an_english_resident(talk, clock, flat):
    await hand_in_two_months(talk, clock)
    rendered = render(Reply(t("menu"), (), await history_chart(talk)), "en").chart
    assert rendered is not None
    assert rendered.title.startswith("Consumption: ")
    assert rendered.periods == ("10.2026", "11.2026")
    assert [panel.axis for panel in rendered.panels] == ["Consumption, Gcal", "Consumption, m³"]
    assert [[label for label, _ in panel.lines] for panel in rendered.panels] == [
        ["Heating"], ["Hot water, No. …1001", "Hot water, No. …1002"]]
    shown = [*rendered.periods, *(p.axis for p in rendered.panels),
             *(label for p in rendered.panels for label, _ in p.lines)]
    assert not [text for text in shown if CYRILLIC.search(text)]


async def test_chart_labels_are_in_ukrainian_by_default(talk, clock, flat):
    await hand_in_two_months(talk, clock)
    rendered = render(Reply(t("menu"), (), await history_chart(talk)), "uk").chart
    assert rendered is not None
    assert rendered.title.startswith("Споживання")
    assert [panel.axis for panel in rendered.panels] == ["Споживання, Гкал", "Споживання, м³"]
    assert [[label for label, _ in panel.lines] for panel in rendered.panels] == [
        ["Опалення"], ["Гаряча вода, №…1001", "Гаряча вода, №…1002"]]


async def test_a_meter_alone_of_its_kind_is_named_by_its_service_and_zone_only(talk, clock, store):
    store.add_account("electricity", "40000001", payment="500.00", meters=[
        {"serial": "EL-77-D", "service": "electricity", "zone": "day", "last": "1000", "on": date(2026, 9, 28)},
        {"serial": "EL-77-N", "service": "electricity", "zone": "night", "last": "500", "on": date(2026, 9, 28)},
    ])
    await link(talk, supplier="electricity", number="40000001", proof="500.00")
    for month, values in ((10, ("1100", "550")), (11, ("1190", "590"))):
        clock.now = datetime(2026, month, 30, 12, tzinfo=KYIV)  # inside electricity's window
        await submit_start(talk)
        for value in values:
            await talk.say(value)
        await talk.press("btn_confirm")
    rendered = render(Reply(t("menu"), (), await history_chart(talk)), "en").chart
    assert rendered is not None
    assert [[label for label, _ in panel.lines] for panel in rendered.panels] == [
        ["Electricity (day)", "Electricity (night)"]]


def test_a_reply_with_a_chart_waits_in_the_outbox_as_json_and_comes_back_the_same():
    chart = Chart(t("history_chart_title", account=t("account_label", supplier={"uk": "Тепло", "en": "Heat"},
                                                          number="•••0001")),
                  ("2026-10", "2026-11"),
                  (ChartPanel(t("chart_axis", unit=t("unit_gcal")),
                              (ChartLine(t("chart_meter", service=t("service_heating")), (8.0, 12.0)),)),
                   ChartPanel(t("chart_axis", unit=t("unit_m3")),
                              (ChartLine(t("chart_meter_serial", meter=t("chart_meter", service=t("service_hot_water")),
                                           serial="1001"), (None, 4.0)),))))
    replies = (Reply(t("menu"), (), chart),)
    assert decode_replies(encode_replies(replies)) == replies


def test_a_chart_written_by_the_previous_release_still_renders():
    body = ('[{"$reply":[{"$text":"menu","p":{}},[],{"$chart":{"$text":"history_chart_title","p":{"account":"x"}},'
            '"periods":["2026-10","2026-11"],"series":[["HT-1",[8.0,12.0]]],"unit":{"$text":"unit_gcal","p":{}}}]}]')
    [reply] = decode_replies(body)
    rendered = render(reply, "en").chart
    assert rendered is not None
    assert rendered.panels == (RenderedPanel("Gcal", (("HT-1", (8.0, 12.0)),)),)


def big_chart() -> RenderedChart:
    periods = tuple(f"{m:02d}.2026" for m in range(1, 13))
    return RenderedChart("Consumption: Heat •••0001", periods, (
        RenderedPanel("Consumption, Gcal", (("Heating", tuple(float(8 + m % 3) for m in range(12))),)),
        RenderedPanel("Consumption, m³", (("Hot water, No. …1001", tuple(float(m % 4) for m in range(12))),
                                          ("Hot water, No. …1002", tuple(float(m % 5) for m in range(12))))),
    ))


async def longest_pause_while(work) -> tuple[float, object]:
    """How long the event loop was at most unable to run a ticker while ``work`` ran."""
    longest = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        result = await work
    finally:
        done.set()
        await ticking
    return longest, result


async def test_the_event_loop_keeps_running_while_a_chart_is_drawn(drawer):
    from bot.dialogs.chart import chart_png

    chart = big_chart()
    assert await drawer.draw(chart) is not None  # the worker is started (and matplotlib imported there)
    started = time.perf_counter()
    chart_png(chart)  # what drawing on the loop used to cost
    on_the_loop = time.perf_counter() - started
    pause, png = await longest_pause_while(drawer.draw(chart))
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")
    assert pause < on_the_loop / 2, (pause, on_the_loop)


async def test_a_chart_that_cannot_be_drawn_in_time_is_left_out_and_its_error_logged(caplog):
    slow = ChartDrawer(time_limit_s=0.001)
    try:
        with caplog.at_level(logging.ERROR):
            assert await slow.draw(big_chart()) is None
    finally:
        slow.close()
    assert "chart not drawn (TimeoutError)" in caplog.text


async def test_the_console_writes_each_chart_to_its_own_file_and_says_where(
        talk, clock, flat, store, service, drawer, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    await hand_in_two_months(talk, clock)
    out = io.StringIO()
    console = ConsoleChannel(service, out, talk.chat.chat_id, uow_factory=lambda: FakeUnitOfWork(store),
                             charts=drawer)
    paths: list[str] = []
    for _ in range(2):
        await talk.start()
        await console.send(ButtonPressed(talk.chat, talk.button("btn_history").payload))
        [line] = [line for line in out.getvalue().splitlines() if line.startswith("📈")][len(paths):]
        paths.append(line.removeprefix("📈 Графік збережено у файл: "))
    assert paths[0] != paths[1]
    for path in paths:
        assert path.startswith(str(tmp_path / "komunalka-charts"))
        with open(path, "rb") as file:
            assert file.read(4) == b"\x89PNG"


async def test_the_console_shows_the_history_without_a_chart_that_could_not_be_drawn(
        talk, clock, flat, store, service, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    await hand_in_two_months(talk, clock)
    out = io.StringIO()
    slow = ChartDrawer(time_limit_s=0.001)
    console = ConsoleChannel(service, out, talk.chat.chat_id, uow_factory=lambda: FakeUnitOfWork(store), charts=slow)
    try:
        await talk.start()
        await console.send(ButtonPressed(talk.chat, talk.button("btn_history").payload))
    finally:
        slow.close()
    assert "11.2026: 1520 Гкал" in out.getvalue()
    assert "📈" not in out.getvalue()
    assert "chart not drawn (TimeoutError)" in caplog.text
