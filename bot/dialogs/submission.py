"""Submitting readings: account, each meter in turn, checks, summary, confirmation, receipt.

Nothing is stored as accepted before the resident confirms the summary: until then the draft
lives in the resident's session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from core.conversation import Step, Turn
from core.domain import Account, Meter, Reading, ReadingKind, ReadingStatus, ServiceSpec
from core.events import PhotoProblem, PhotoReceived, Text, t
from core.periods import Period
from core.ports import NewReading, PreviousReading, Submission
from core.reading_checks import CheckResult, Verdict, check_reading, consumption_of
from core.reading_parser import ParseError, parse_reading
from core.submission_window import Window, window_for_submission, window_of_period
from bot.dialogs.common import (
    account_label,
    drop_draft,
    let_go,
    go_menu,
    menu_row,
    meter_label,
    on_own_account,
    own_account,
    show_account_choice,
    unit_of,
    unit_text,
)
from bot.dialogs.estimates import estimate_of, total_block, with_meter_lines
from bot.dialogs.receipts import value_lines

RECENT_PERIODS = 6
VERIFICATION_WARNING = timedelta(days=31)
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_ZONE_ORDER = {"": 0, "day": 1, "night": 2}


@dataclass(frozen=True)
class Current:
    account: Account
    meter: Meter
    service: ServiceSpec
    period: Period
    draft: dict[str, Any]


async def open_submit(turn: Turn, _: str = "") -> None:
    accounts = await turn.uow.accounts.linked(turn.resident.id)
    if len(accounts) == 1:
        await _begin(turn, accounts[0])
    else:
        await turn.goto("submit_account")


async def enter_choose_account(turn: Turn) -> None:
    await show_account_choice(turn, "submit_choose_account", submitting=True)


async def submit_once(turn: Turn, account: Account) -> None:
    """Readings for an account the resident proved but did not link: the draft names it by its number."""
    await _begin(turn, account, once=True)


async def _begin(turn: Turn, account: Account, once: bool = False) -> None:
    spec = turn.suppliers.get(account.supplier)
    if spec is None:
        turn.say("supplier_unavailable")
        await go_menu(turn)
        return
    today = turn.now.date()
    window, is_open = window_for_submission(spec.window, today)
    meters = []
    for meter in sorted(account.meters, key=lambda m: (_service_order(spec.services, m.service), m.serial,
                                                      _ZONE_ORDER.get(m.zone, 9))):
        if meter.lapsed(today):
            turn.say("meter_lapsed", meter=meter_label(meter), due=meter.verification_due)
        elif spec.service(meter.service) is not None:
            meters.append(meter.id)
    if not meters:
        turn.say("no_meters")
        await go_menu(turn)
        return
    await drop_draft(turn)  # a draft started again (its window passed): its photos were of another period
    turn.session["data"] = {
        "draft": {"account": account.id, "period": str(window.period), "meters": meters, "index": 0, "values": {},
                  "fixing": False, "once": [account.supplier, account.number] if once else None}
    }
    await turn.goto("meter_value" if is_open else "closed_offer")


def _service_order(services: tuple[ServiceSpec, ...], service: str) -> int:
    return next((i for i, s in enumerate(services) if s.id == service), len(services))


async def enter_closed_offer(turn: Turn) -> None:
    current = await _current(turn)
    if current is None:
        return
    window = _window_of(turn, current.account, current.period)
    turn.say(
        "window_closed", supplier=turn.suppliers[current.account.supplier].names, opens=window.opens,
        closes=window.closes, buttons=((turn.button("btn_keep_for_later", "keep"),), menu_row()),
    )


async def keep_for_later(turn: Turn, _: str) -> None:
    await turn.goto("meter_value")


def _window_of(turn: Turn, account: Account, period: Period) -> Window:
    return window_of_period(turn.suppliers[account.supplier].window, period)


async def _draft(turn: Turn) -> tuple[dict[str, Any], Account] | None:
    """The draft and its account, re-checked against the resident's links and against the calendar.

    A draft whose window closed while the resident was at it starts again for the next window:
    nothing moves to another period unseen, and the values are checked against that period.
    """
    draft = turn.data.get("draft")
    account = await own_account(turn, str(draft["account"])) if draft else None
    if draft is not None and account is None and draft.get("once"):  # proved for this submission only
        found = await turn.uow.accounts.find(*draft["once"])
        account = found if found is not None and found.id == draft["account"] else None
    if draft is None or account is None or account.supplier not in turn.suppliers:
        turn.say("draft_gone")
        await go_menu(turn)
        return None
    period = Period.parse(draft["period"])
    window = _window_of(turn, account, period)
    if window.closes < turn.now.date():
        upcoming, _ = window_for_submission(turn.suppliers[account.supplier].window, turn.now.date())
        turn.say("window_passed", supplier=turn.suppliers[account.supplier].names, period=period,
                 closes=window.closes, next=upcoming.period)
        await _begin(turn, account, once=bool(draft.get("once")))
        return None
    return draft, account


async def current_meter(turn: Turn) -> Current | None:
    """The meter the resident is at in the draft (for the steps around it), or None after saying why."""
    return await _current(turn)


async def _current(turn: Turn) -> Current | None:
    """The draft's account and meter, re-checked against the resident's links and the calendar."""
    found = await _draft(turn)
    if found is None:
        return None
    draft, account = found
    meter_id = draft["meters"][draft["index"]]
    meter = next((m for m in account.meters if m.id == meter_id), None)
    service = turn.suppliers[account.supplier].service(meter.service) if meter else None
    if meter is None or service is None:
        turn.say("draft_gone")
        await go_menu(turn)
        return None
    return Current(account, meter, service, Period.parse(draft["period"]), draft)


async def previous_of(turn: Turn, meter: Meter, period: Period) -> PreviousReading | None:
    """The value to count from: the last accepted reading of an earlier period, or the register's."""
    last = await turn.uow.readings.previous(meter.id, period)
    # the day the resident read the meter, in the city: storage gives the moment in UTC
    stored = PreviousReading(last.value, turn.local(last.submitted_at).date()) if last else None
    register = (
        PreviousReading(meter.last_reading, meter.last_reading_date)
        if meter.last_reading is not None and meter.last_reading_date is not None
        else None
    )
    known = [p for p in (stored, register) if p is not None]
    return max(known, key=lambda p: p.on) if known else None


async def enter_meter(turn: Turn) -> None:
    current = await _current(turn)
    if current is None:
        return
    meter, service = current.meter, current.service
    previous = await previous_of(turn, meter, current.period)
    draft = current.draft
    if meter.verification_due is not None and meter.verification_due - turn.now.date() <= VERIFICATION_WARNING:
        turn.say("meter_verification_soon", meter=meter_label(meter), due=meter.verification_due)
    latest = await handed_in(turn, meter, current.period)
    if latest is not None:
        turn.say("meter_handed_in", value=latest.value, unit=unit_text(service.unit), at=latest.submitted_at,
                 by=_by(turn, latest))
    turn.say(
        "meter_prompt" if previous else "meter_prompt_first",
        step=draft["index"] + 1, total=len(draft["meters"]), meter=meter_label(meter),
        previous=previous.value if previous else None, on=previous.on if previous else None,
        unit=unit_text(service.unit), example=example_of(service),
        buttons=meter_buttons(turn, previous is not None or latest is not None),
    )


async def handed_in(turn: Turn, meter: Meter, period: Period) -> Reading | None:
    """The latest reading of this meter already handed in (or kept) for the period, by anyone."""
    readings = await turn.uow.readings.in_period([meter.id], period)
    return max(readings, key=lambda r: r.submitted_at) if readings else None


def _by(turn: Turn, reading: Reading) -> Text:
    """Who handed a reading in, as a household member may be told: never by name."""
    return t("by_you" if reading.submitted_by == turn.resident.id else "by_household")


def meter_buttons(turn: Turn, has_previous: bool) -> tuple[tuple[Any, ...], ...]:
    first = (turn.button("btn_unchanged", "same"),) if has_previous else ()
    return ((first + (turn.button("btn_cancel", "cancel"),)),)


def example_of(service: ServiceSpec) -> Decimal:
    """A number, so each language writes it as it writes values: "1234,5" in Ukrainian, "1234.5" in English."""
    return Decimal("1234.5") if service.decimals else Decimal("1234")


async def value_typed(turn: Turn, text: str) -> None:
    current = await _current(turn)
    if current is None:
        return
    service = current.service
    parsed = parse_reading(text, digits=service.digits, decimals=service.decimals, unit=service.unit)
    previous = await previous_of(turn, current.meter, current.period)
    if isinstance(parsed, ParseError):
        key = f"parse_{parsed.problem.value}"
        if turn.step == "meter_value":
            turn.say(key, digits=service.digits, decimals=service.decimals, example=example_of(service),
                     unit=unit_text(service.unit), buttons=meter_buttons(turn, previous is not None))
        else:  # typed at "lower?" or "sure?": that question is void now, back to the meter's own screen
            turn.say(key, digits=service.digits, decimals=service.decimals, example=example_of(service),
                     unit=unit_text(service.unit))
            current.draft.pop("candidate", None)
            await turn.goto("meter_value")
        return
    await take_value(turn, current, parsed, previous)


async def take_value(turn: Turn, current: Current, value: Decimal, previous: PreviousReading | None) -> None:
    """A value the resident typed (or confirmed from a photo): kept, or asked about when it looks wrong."""
    recent = await turn.uow.readings.recent_consumption(current.meter.id, current.period, RECENT_PERIODS)
    result = check_reading(value, previous.value if previous else None, current.service, recent)
    if result.verdict is Verdict.LOWER:
        current.draft["candidate"] = {"value": str(value), "rollover": result.rollover_possible}
        await turn.goto("lower_ask")
    elif result.verdict is Verdict.UNUSUAL:
        await _ask_if_sure(turn, current, value, ReadingKind.TYPED, result)
    else:
        await _record(turn, current, value, ReadingKind.TYPED)


async def _ask_if_sure(turn: Turn, current: Current, value: Decimal, kind: ReadingKind, result: CheckResult) -> None:
    current.draft["candidate"] = {"value": str(value), "kind": kind.value, "consumption": str(result.consumption),
                                  "usual": str(result.usual) if result.usual is not None else None}
    await turn.goto("unusual_ask")


async def unchanged(turn: Turn, _: str) -> None:
    """The boiler rule: hot water must be handed in every month, even unchanged; one tap."""
    current = await _current(turn)
    if current is None:
        return
    latest = await handed_in(turn, current.meter, current.period)
    if latest is not None:  # replacing this period's reading: unchanged from what was handed in last
        kind = ReadingKind.UNCHANGED if latest.kind in (ReadingKind.TYPED, ReadingKind.UNCHANGED) else latest.kind
        await _record(turn, current, latest.value, kind)
        return
    previous = await previous_of(turn, current.meter, current.period)
    if previous is None:
        turn.say("unchanged_without_previous")
        return
    await _record(turn, current, previous.value, ReadingKind.UNCHANGED)


async def _record(turn: Turn, current: Current, value: Decimal, kind: ReadingKind, evidence: str | None = None,
                  replacement: dict[str, str] | None = None) -> None:
    previous = await previous_of(turn, current.meter, current.period)
    previous_value = previous.value if previous else None
    used = consumption_of(value, previous_value, kind, current.service)
    if replacement and "start" in replacement:  # a new meter counts from its first value
        used = value - Decimal(replacement["start"])
    draft = current.draft
    draft.pop("candidate", None)
    draft.pop("suggested", None)
    sent = draft.get("photos", {}).pop(str(current.meter.id), None)  # a photo sent at the meter's prompt
    if evidence is None:
        evidence = sent
    earlier = draft["values"].get(str(current.meter.id), {}).get("evidence")
    for name in (sent, earlier):  # replaced by a later photo, or the value fixed without it
        if name is not None and name != evidence:
            await let_go(turn, name)
    draft["values"][str(current.meter.id)] = {
        "value": str(value), "kind": kind.value, "evidence": evidence,
        "previous": None if previous_value is None else str(previous_value),
        "consumption": None if used is None else str(used),
        "new_serial": (replacement or {}).get("serial"), "new_installed": (replacement or {}).get("installed"),
        "new_start": (replacement or {}).get("start"),
    }
    if not draft["fixing"] and draft["index"] + 1 < len(draft["meters"]):
        draft["index"] += 1
        await turn.goto("meter_value")
    else:
        await turn.goto("summary")


async def cancel_submission(turn: Turn, _: str) -> None:
    turn.say("submission_cancelled")
    await go_menu(turn)


async def enter_lower(turn: Turn) -> None:
    current = await _current(turn)
    if current is None:
        return
    candidate = current.draft["candidate"]
    previous = await previous_of(turn, current.meter, current.period)
    row = [turn.button("btn_meter_replaced", "replaced")]
    if candidate["rollover"]:
        row.append(turn.button("btn_meter_rolled_over", "rollover"))
    turn.say(
        "lower_than_previous", value=Decimal(candidate["value"]), previous=previous.value if previous else None,
        unit=unit_text(current.service.unit), rollover=candidate["rollover"],
        buttons=(tuple(row), (turn.button("btn_type_again", "again"),)),
    )


async def record_replaced(turn: Turn, evidence: str | None) -> None:
    """The value typed is the new meter's: recorded with what the resident told of the replacement."""
    current = await _current(turn)
    if current is None or "candidate" not in current.draft:
        return
    replacement = current.draft.pop("replacement", {})
    await _record(turn, current, Decimal(current.draft["candidate"]["value"]), ReadingKind.REPLACED, evidence,
                  replacement)


async def meter_rolled_over(turn: Turn, _: str) -> None:
    current = await _current(turn)
    if current is None or "candidate" not in current.draft or not current.draft["candidate"].get("rollover"):
        return
    value = Decimal(current.draft["candidate"]["value"])
    previous = await previous_of(turn, current.meter, current.period)
    recent = await turn.uow.readings.recent_consumption(current.meter.id, current.period, RECENT_PERIODS)
    result = check_reading(value, previous.value if previous else None, current.service, recent, ReadingKind.ROLLOVER)
    if result.verdict is Verdict.UNUSUAL:
        await _ask_if_sure(turn, current, value, ReadingKind.ROLLOVER, result)
    else:
        await _record(turn, current, value, ReadingKind.ROLLOVER)


async def type_again(turn: Turn, _: str) -> None:
    turn.data.get("draft", {}).pop("candidate", None)
    await turn.goto("meter_value")


async def enter_unusual(turn: Turn) -> None:
    current = await _current(turn)
    if current is None:
        return
    candidate = current.draft["candidate"]
    turn.say(
        "unusual_consumption" if candidate.get("usual") else "impossible_consumption",
        value=Decimal(candidate["value"]), consumption=Decimal(candidate["consumption"]),
        usual=Decimal(candidate["usual"]) if candidate.get("usual") else None, unit=unit_text(current.service.unit),
        photo_note=t("unusual_photo_attached") if str(current.meter.id) in current.draft.get("photos", {})
        else t("unusual_photo_invited"),
        buttons=((turn.button("btn_value_correct", "yes"),), (turn.button("btn_type_again", "again"),)),
    )


async def unusual_confirmed(turn: Turn, _: str = "", evidence: str | None = None) -> None:
    current = await _current(turn)
    if current is None or "candidate" not in current.draft:
        return
    candidate = current.draft["candidate"]
    await _record(turn, current, Decimal(candidate["value"]), ReadingKind(candidate["kind"]), evidence)


async def photo_attached(turn: Turn, photo: PhotoReceived) -> None:
    """A photo at "are you sure?": the evidence of the value, which is kept with it."""
    name = await keep_photo(turn, photo)
    if name is None:
        await turn.refresh()
        return
    turn.say("photo_attached")
    await unusual_confirmed(turn, "", evidence=name)


async def keep_photo(turn: Turn, photo: PhotoReceived) -> str | None:
    """The kept photo's name, now recorded as this resident's; None after telling them why there is none."""
    if photo.photo is None:
        turn.say(f"photo_{(photo.problem or PhotoProblem.UNAVAILABLE).value}")
        return None
    await turn.uow.photos.add(photo.photo, turn.resident.id, turn.now)
    return photo.photo


async def enter_summary(turn: Turn) -> None:
    found = await _draft(turn)
    if found is None:
        return
    draft, account = found
    period = Period.parse(draft["period"])
    cost = estimate_of(turn, account, period, [(m, _consumption(draft, m)) for m in draft["meters"]])
    lines = with_meter_lines([_summary_line(turn, account, meter_id, draft) for meter_id in draft["meters"]],
                             draft["meters"], cost) + total_block(account, cost)
    earlier = await turn.uow.readings.in_period(draft["meters"], period)
    notes: list[Text] = []
    mine = [r for r in earlier if r.submitted_by == turn.resident.id]
    theirs = [r for r in earlier if r.submitted_by != turn.resident.id]
    if mine:
        notes.append(t("summary_replaces", on=turn.local(min(r.submitted_at for r in mine)).date()))
    if theirs:
        meters = {m.id: m for m in account.meters}
        notes.append(t("summary_replaces_household", on=turn.local(min(r.submitted_at for r in theirs)).date(),
                       lines=[t("handed_in_line", meter=meter_label(meters[r.meter_id]), value=r.value,
                                unit=unit_of(turn, account, meters[r.meter_id]))
                              for r in theirs if r.meter_id in meters]))
    window = _window_of(turn, account, period)
    if not window.contains(turn.now.date()):
        notes.append(t("summary_pending", opens=window.opens))
    turn.say(
        "summary", account=account_label(turn, account), period=period, lines=lines, notes=notes,
        buttons=(
            (turn.button("btn_confirm", "confirm"),),
            (turn.button("btn_fix", "fix"), turn.button("btn_cancel", "cancel")),
        ),
    )


def _consumption(draft: dict[str, Any], meter_id: int) -> Decimal | None:
    used = draft["values"][str(meter_id)]["consumption"]
    return None if used is None else Decimal(used)


def _summary_line(turn: Turn, account: Account, meter_id: int, draft: dict[str, Any]) -> Text:
    meter = next(m for m in account.meters if m.id == meter_id)
    entry = draft["values"][str(meter_id)]
    spec = turn.suppliers[account.supplier].service(meter.service)
    installed = entry.get("new_installed")
    return t(
        f"summary_line_{entry['kind']}", meter=meter_label(meter), unit=unit_text(spec.unit if spec else ""),
        new_meter=t("new_meter_details", serial=entry.get("new_serial") or "—",
                    installed=date.fromisoformat(installed) if installed else None),
        value=Decimal(entry["value"]),
        previous=Decimal(entry["previous"]) if entry["previous"] is not None else None,
        consumption=Decimal(entry["consumption"]) if entry["consumption"] is not None else None,
    )


async def confirm(turn: Turn, _: str) -> None:
    found = await _draft(turn)
    if found is None:
        return
    draft, account = found
    period = Period.parse(draft["period"])
    window = _window_of(turn, account, period)
    # kept for a window that has opened since: handed in now, with the ordinary receipt
    status = ReadingStatus.ACCEPTED if window.contains(turn.now.date()) else ReadingStatus.PENDING
    reference = new_reference(period)
    earlier = await turn.uow.readings.in_period(draft["meters"], period)
    # a draft's photo may have been purged as abandoned (a very old draft): the reading goes without it
    photos = await turn.uow.photos.known([v["evidence"] for v in draft["values"].values() if v.get("evidence")])
    readings = tuple(
        NewReading(
            meter_id=meter_id, value=Decimal(v["value"]),
            previous_value=Decimal(v["previous"]) if v["previous"] is not None else None,
            consumption=Decimal(v["consumption"]) if v["consumption"] is not None else None,
            kind=ReadingKind(v["kind"]), evidence=v.get("evidence") if v.get("evidence") in photos else None,
            new_serial=v.get("new_serial"),
            new_installed=date.fromisoformat(v["new_installed"]) if v.get("new_installed") else None,
            new_start=Decimal(v["new_start"]) if v.get("new_start") else None,
        )
        for meter_id in draft["meters"]
        for v in [draft["values"][str(meter_id)]]
    )
    turn.data.pop("draft")  # its photos are the readings' now
    replaced = await turn.uow.readings.submit(Submission(
        account_id=account.id, resident_id=turn.resident.id, period=period, channel=turn.channel,
        reference=reference, submitted_at=turn.now, status=status, readings=readings,
    ))
    for other in sorted({r.submitted_by for r in earlier if r.submitted_by is not None} - {turn.resident.id}):
        turn.tell(other, "readings_replaced_by_household", account=account_label(turn, account), period=period,
                  reference=reference)
    if status is ReadingStatus.ACCEPTED:
        turn.say("receipt", reference=reference, account=account_label(turn, account), period=period,
                 count=len(readings), replaced=replaced, at=turn.now,
                 lines=value_lines(turn, account, readings, period))
    else:
        turn.say("receipt_pending", reference=reference, account=account_label(turn, account), period=period,
                 opens=window.opens, count=len(readings), at=turn.now,
                 lines=value_lines(turn, account, readings, period))
    if draft.get("once"):
        turn.say("receipt_not_linked")
    await go_menu(turn)


def new_reference(period: Period) -> str:
    """A receipt number a resident can read out on the phone: KM-2611-7F3K9Q."""
    tail = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
    return f"KM-{period.year % 100:02d}{period.month:02d}-{tail}"


async def open_fix(turn: Turn, _: str) -> None:
    await turn.goto("fix_choose")


async def enter_fix(turn: Turn) -> None:
    found = await _draft(turn)
    if found is None:
        return
    draft, account = found
    meters = {m.id: m for m in account.meters}
    rows = tuple(
        (turn.button("meter_button", "m", i, meter=meter_label(meters[mid])),)
        for i, mid in enumerate(draft["meters"]) if mid in meters
    )
    turn.say("fix_choose", buttons=rows + ((turn.button("btn_back", "back"),),))


async def fix_meter(turn: Turn, index: str) -> None:
    draft = turn.data.get("draft")
    if draft is None or not index.isdigit() or int(index) >= len(draft["meters"]):
        turn.say("stale_button")
        await turn.refresh()
        return
    draft.update(index=int(index), fixing=True)
    await turn.goto("meter_value")


async def back_to_summary(turn: Turn, _: str) -> None:
    await turn.goto("summary")


submit_for_account = on_own_account(_begin)  # under a reminder: straight to that account's meters

SUBMISSION_STEPS = {
    "submit_account": Step(enter_choose_account, buttons={"acc": submit_for_account}),
    "closed_offer": Step(enter_closed_offer, buttons={"keep": keep_for_later}),
    "meter_value": Step(enter_meter, buttons={"same": unchanged, "cancel": cancel_submission}, text=value_typed),
    "lower_ask": Step(enter_lower, buttons={"rollover": meter_rolled_over, "again": type_again},  # + "replaced"
                      text=value_typed),
    "unusual_ask": Step(enter_unusual, buttons={"yes": unusual_confirmed, "again": type_again},
                        text=value_typed, photo=photo_attached),
    "summary": Step(enter_summary, buttons={"confirm": confirm, "fix": open_fix, "cancel": cancel_submission}),
    "fix_choose": Step(enter_fix, buttons={"m": fix_meter, "back": back_to_summary}),
}
