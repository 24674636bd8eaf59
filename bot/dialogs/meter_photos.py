"""A photo of the meter at its reading prompt: kept as the reading's evidence, and read when recognition is
installed — the value it reads is only ever suggested: nothing is kept before the resident's tap.

A suggestion fits the meter (its digits and decimals), is not below the previous reading and not beyond
the plausible month's use (core/meter_photo.py); anything else, and the resident is asked to type it.
"""

from __future__ import annotations

from decimal import Decimal

from core.conversation import Step, Turn
from core.domain import ServiceSpec
from core.events import Button, PhotoReceived
from core.meter_photo import suggestion
from bot.dialogs.common import let_go, meter_label, unit_text
from bot.dialogs.submission import (
    RECENT_PERIODS,
    Current,
    current_meter,
    example_of,
    handed_in,
    keep_photo,
    meter_buttons,
    previous_of,
    take_value,
    value_typed,
)


async def meter_photo(turn: Turn, photo: PhotoReceived) -> None:
    """At the meter's prompt (or over a suggestion): the photo goes with this meter's value, whatever it is."""
    name = await keep_photo(turn, photo)
    if name is None:
        await turn.refresh()
        return
    current = await current_meter(turn)
    if current is None:
        await let_go(turn, name)
        return
    photos = current.draft.setdefault("photos", {})
    earlier = photos.get(str(current.meter.id))
    if earlier is not None:
        await let_go(turn, earlier)
    photos[str(current.meter.id)] = name
    previous = await previous_of(turn, current.meter, current.period)
    # the prompt's own buttons again: the resident types the value, or presses "unchanged", from here
    buttons = meter_buttons(turn, previous is not None or await handed_in(turn, current.meter, current.period)
                            is not None)
    if photo.seen is None:  # recognition is not installed, or did not finish in time
        await _type_it(turn, "photo_kept_type_it", current, buttons)
        return
    recent = await turn.uow.readings.recent_consumption(current.meter.id, current.period, RECENT_PERIODS)
    value = suggestion(photo.seen, current.service, previous.value if previous else None, recent)
    if value is None:
        await _type_it(turn, "photo_unread", current, buttons)
        return
    current.draft["suggested"] = str(value)
    await turn.goto("photo_suggest")


async def _type_it(turn: Turn, key: str, current: Current, buttons: tuple[tuple[Button, ...], ...]) -> None:
    """Asked to type the value: at the meter's prompt (over a suggestion, that one is void now)."""
    if turn.step == "meter_value":
        turn.say(key, example=example_of(current.service), buttons=buttons)
    else:
        current.draft.pop("suggested", None)
        turn.say(key, example=example_of(current.service))
        await turn.goto("meter_value")


def drum(value: Decimal, service: ServiceSpec) -> tuple[str, str]:
    """The value as the meter's drums show it: every digit, leading zeros too ("00123", "456")."""
    whole = int(value)
    fraction = int((value - whole) * 10 ** service.decimals)
    return f"{whole:0{service.digits}d}", f"{fraction:0{service.decimals}d}" if service.decimals else ""


async def enter_suggest(turn: Turn) -> None:
    current = await current_meter(turn)
    if current is None:
        return
    whole, fraction = drum(Decimal(current.draft["suggested"]), current.service)
    turn.say("photo_suggest", meter=meter_label(current.meter), whole=whole, fraction=fraction,
             unit=unit_text(current.service.unit), buttons=(
                 (turn.button("btn_photo_right", "yes"), turn.button("btn_type_myself", "type")),))


async def suggestion_confirmed(turn: Turn, _: str) -> None:
    current = await current_meter(turn)
    if current is None:
        return
    suggested = current.draft.pop("suggested", None)
    if suggested is None:
        await turn.goto("meter_value")
        return
    await take_value(turn, current, Decimal(suggested), await previous_of(turn, current.meter, current.period))


async def type_it(turn: Turn, _: str) -> None:
    turn.data.get("draft", {}).pop("suggested", None)
    await turn.goto("meter_value")


PHOTO_STEPS = {
    "photo_suggest": Step(enter_suggest, buttons={"yes": suggestion_confirmed, "type": type_it}, text=value_typed,
                          photo=meter_photo),
}
