"""Table-driven: what works from every step of the conversation's table works from each of them."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from core.events import Reply
from core.meter_photo import Seen
from core.payments import BillingEntry, BillingKind
from core.supplier_config import load_suppliers
from bot.dialogs.table import STEPS
from tests.talk import Talk
from tests.conftest import HEAT
from tests.test_conversation import link


@pytest.fixture
def suppliers():
    """With payment details (heat: a page and a discount), so that the walk reaches the pay screen."""
    return load_suppliers(Path(__file__).with_name("suppliers_with_payment.toml"))


async def visit_every_step(talk: Talk, store, screens: dict[str, tuple[Reply, ...]] | None = None) -> dict[str, object]:
    """Walk the conversation, keeping a copy of the storage (and the screen shown) at the first visit of each step."""
    seen: dict[str, object] = {}

    async def act(coroutine) -> None:
        await coroutine
        step = store.residents[talk.chat]["session"]["step"]
        if step not in seen:
            seen[step] = copy.deepcopy(store)
            if screens is not None:
                screens[step] = talk.last

    store.add_account("heat", HEAT, payment="1234.56", meters=[
        {"serial": "HT", "service": "heating", "last": "1520", "on": date(2026, 10, 28)},
        {"serial": "HW", "service": "hot_water", "last": "300", "on": date(2026, 10, 28)}])
    store.add_account("gas", "3000000001", payment="1", meters=[
        {"serial": "G", "service": "gas", "last": "10", "on": date(2026, 11, 1)}])
    await act(talk.start())
    await act(talk.press("btn_history"))
    await act(talk.press("btn_link"))
    await act(talk.press("supplier_button", name=talk.service._suppliers["heat"].names))
    await act(talk.say(HEAT))
    await act(talk.say("1234.56"))
    await link(talk, supplier="gas", number="3000000001", proof="1")
    await act(talk.press("btn_accounts"))
    await act(talk.press("btn_unlink"))
    await act(talk.press("btn_no"))
    await act(talk.say("/menu"))
    await act(talk.press("btn_submit"))
    await act(talk.press("account_button"))
    await act(talk.photo("walk-photo", seen=(Seen("01523500", 0.97, (100.0, 200.0, 500.0, 260.0)),)))
    await act(talk.press("btn_type_myself"))
    await act(talk.say("12"))
    await act(talk.press("btn_meter_replaced"))
    await act(talk.say("NEW-1"))
    await act(talk.press("btn_installed_today"))
    await act(talk.press("btn_dont_know"))
    await act(talk.press("btn_skip"))
    await act(talk.say("12"))
    await act(talk.press("btn_type_again"))
    await act(talk.say("1600"))
    await act(talk.press("btn_value_correct"))
    await act(talk.press("btn_fix"))
    await act(talk.press("btn_back"))
    await act(talk.press("btn_cancel"))
    await act(talk.press("btn_submit"))
    await act(talk.press("account_button", account=talk.last[0].buttons[1][0].label.params["account"]))
    await act(talk.say("/menu"))
    await act(talk.press("btn_history"))
    await act(talk.press("account_button"))
    await act(talk.say("/menu"))
    await act(talk.press("btn_reminders"))
    await act(talk.say("/menu"))
    store.billing.append(BillingEntry("heat", HEAT, date(2026, 11, 1), BillingKind.BALANCE, Decimal("1234.56")))
    await act(talk.press("btn_money"))
    await act(talk.press("account_button"))
    await act(talk.press("btn_pay"))
    await act(talk.press("btn_back"))
    await act(talk.say("/menu"))
    await act(talk.press("btn_submit"))
    await act(talk.press("account_button"))
    await act(talk.say("1525"))
    await act(talk.press("btn_unchanged"))
    await act(talk.press("btn_confirm"))
    await act(talk.press("btn_receipts"))
    await act(talk.press("receipt_button"))
    await act(talk.say("/help"))
    await act(talk.press("btn_forget"))
    return seen


SCREENS: dict[str, tuple[Reply, ...]] = {}


@pytest.fixture
async def snapshots(talk, store):
    return await visit_every_step(talk, store, SCREENS)


def restore(store, snapshot) -> None:
    store.__dict__.update(copy.deepcopy(snapshot).__dict__)


def payloads(replies: tuple[Reply, ...]) -> list[str]:
    return [b.payload for r in replies for row in r.buttons for b in row]


@pytest.mark.parametrize("step", sorted(STEPS))
async def test_every_button_a_step_shows_is_accepted_by_that_step(snapshots, store, talk, step):
    offered = payloads(SCREENS[step])
    for payload in offered:
        restore(store, snapshots[step])
        await talk.press_payload(payload)
        assert talk.keys[0] != "stale_button", (step, payload)


@pytest.mark.parametrize("step", sorted(STEPS))
@pytest.mark.parametrize("typed", ["abc", "12", "1600", "99999999", "-5", "15"])
async def test_the_buttons_under_any_answer_to_typed_text_are_accepted_by_the_step_it_leaves(
        snapshots, store, talk, step, typed):
    restore(store, snapshots[step])
    await talk.say(typed)
    after, answer = copy.deepcopy(store), talk.last
    for payload in payloads(answer):
        restore(store, after)
        await talk.press_payload(payload)
        assert talk.keys[0] != "stale_button", (step, typed, payload, [r.text.key for r in answer])


async def test_the_walk_reaches_every_step_of_the_table(snapshots):
    assert set(snapshots) == set(STEPS)


COMMANDS = [
    ("/menu", ["menu"], "menu"),
    ("меню", ["menu"], "menu"),
    ("/cancel", ["cancelled", "menu"], "menu"),
    ("скасувати", ["cancelled", "menu"], "menu"),
    ("/help", ["help"], "help"),
    ("/language", ["choose_language"], None),  # None: the resident stays where they were
    ("/start@komunalka_bot", ["welcome", "menu"], "menu"),
]


@pytest.mark.parametrize("step", sorted(STEPS))
@pytest.mark.parametrize("typed, keys, lands", COMMANDS)
async def test_commands_work_from_every_step(snapshots, store, talk, step, typed, keys, lands):
    store.__dict__.update(copy.deepcopy(snapshots[step]).__dict__)
    await talk.say(typed)
    assert talk.keys == keys
    assert store.residents[talk.chat]["session"]["step"] == (lands or step)


@pytest.mark.parametrize("step", sorted(STEPS))
async def test_a_stale_or_forged_button_keeps_the_resident_where_they_were(snapshots, store, talk, step):
    store.__dict__.update(copy.deepcopy(snapshots[step]).__dict__)
    before = copy.deepcopy(store.residents[talk.chat]["session"])
    for payload in ("9999.confirm", "confirm", "1.acc:999", "x" * 64, "menu:evil/../"):
        await talk.press_payload(payload)
        assert talk.keys[0] == "stale_button"
    assert store.residents[talk.chat]["session"]["step"] == before["step"]
    assert store.readings == snapshots[step].readings


@pytest.mark.parametrize("step", sorted(STEPS))
async def test_unsupported_content_keeps_the_resident_where_they_were(snapshots, store, talk, step):
    store.__dict__.update(copy.deepcopy(snapshots[step]).__dict__)
    await talk.sticker()
    assert talk.keys[0] == "unsupported"
    assert store.residents[talk.chat]["session"]["step"] == step


@pytest.mark.parametrize("step", sorted(STEPS))
async def test_a_photo_is_taken_where_asked_for_and_let_go_elsewhere(snapshots, store, talk, step):
    store.__dict__.update(copy.deepcopy(snapshots[step]).__dict__)
    kept = set(store.photos)
    await talk.photo("another-photo")
    if STEPS[step].photo is None:
        assert talk.keys[0] == "photo_elsewhere"
        assert store.residents[talk.chat]["session"]["step"] == step
        assert set(store.photos) == kept  # not recorded: its file is removed once the step is committed
    else:
        assert "another-photo" in store.photos
