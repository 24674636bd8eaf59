"""Start, the main menu, help, language, forget me, and the answers that work from anywhere."""

from __future__ import annotations

from core.conversation import Step, Turn, global_button
from core.domain import Account, ReadingStatus
from core.submission_window import current_window, next_window, window_for_submission
from core.events import Text, t
from bot.dialogs.common import account_choice, continue_row, go_menu, menu_row

LANGUAGES = ("uk", "en")


async def start(turn: Turn, _: str = "") -> None:
    turn.say("welcome")
    if not turn.session.get("notice_shown"):
        turn.say("privacy_notice")
        turn.session["notice_shown"] = True
    await go_menu(turn)


async def enter_menu(turn: Turn) -> None:
    # a resident seen for the first time has nothing linked: no query on the busiest path, /start
    accounts = [] if turn.resident.is_new else await turn.uow.accounts.linked(turn.resident.id)
    lines = [line for a in accounts if (line := await _status_line(turn, a)) is not None]
    turn.say(
        "menu", status=t("menu_status", lines=lines) if lines else "",
        buttons=(
            (turn.button("btn_submit", "submit"),),
            (turn.button("btn_accounts", "accounts"), turn.button("btn_history", "history")),
            (turn.button("btn_reminders", "reminders"), turn.button("btn_help", "help")),
            (turn.button("btn_receipts", "receipts"), turn.button("btn_money", "money")),
        ),
    )


async def _status_line(turn: Turn, account: Account) -> Text | None:
    """Where an account stands this period: handed in, kept for later, or still due and by when."""
    spec = turn.suppliers.get(account.supplier)
    if spec is None:
        return None
    today = turn.now.date()
    window, is_open = window_for_submission(spec.window, today)
    meters = [m.id for m in account.meters if spec.service(m.service) is not None and not m.lapsed(today)]
    if not meters:
        return None
    readings = await turn.uow.readings.in_period(meters, window.period)
    done = {r.meter_id for r in readings}
    common = dict(account=account_choice(turn, account), period=window.period, opens=window.opens,
                  closes=window.closes, done=len(done & set(meters)), total=len(meters))
    if done >= set(meters):
        kept = any(r.status is ReadingStatus.PENDING for r in readings)
        return t("status_kept" if kept else "status_done", **common)
    return t("status_due" if is_open else "status_upcoming", **common)


async def cancel(turn: Turn, _: str = "") -> None:
    turn.say("cancelled")
    await go_menu(turn)


async def stale(turn: Turn, _: str = "") -> None:
    turn.notice = t("stale_notice")  # where the button's message can answer, this alone is enough
    turn.say("stale_button")
    await turn.refresh(pictures=False)


async def unsupported(turn: Turn, _: str = "") -> None:
    turn.say("unsupported")
    await turn.refresh(pictures=False)


async def photo_elsewhere(turn: Turn, _: str = "") -> None:
    turn.say("photo_elsewhere")
    await turn.refresh(pictures=False)


async def open_help(turn: Turn, _: str = "") -> None:
    await turn.goto("help")


async def enter_help(turn: Turn) -> None:
    today = turn.now.date()
    lines = []
    for spec in turn.suppliers.values():
        window = current_window(spec.window, today)
        state = (
            t("help_window_open", closes=window.closes)
            if window
            else t("help_window_closed", opens=next_window(spec.window, today).opens)
        )
        lines.append(
            t("help_supplier", name=spec.names, rule=_rule_text(spec.window.opens_day, spec.window.closes_day,
                                                                 spec.window.closes_next_month),
              state=state, contacts=spec.contacts)
        )
    turn.say(
        "help",
        suppliers=lines,
        buttons=(
            (global_button("btn_language", "lang"), turn.button("btn_forget", "forget")),
            menu_row(),
        ),
    )


def _rule_text(opens: int, closes: int, crosses: bool) -> object:
    return t("rule_next_month" if crosses else "rule_same_month", opens=_day(opens), closes=_day(closes))


def _day(number: int) -> object:
    if number > 0:
        return t("day_n", n=number)
    if number == -1:
        return t("day_last")
    if number == -2:
        return t("day_penultimate")
    return t("day_from_end", n=-number)  # -7: the 7th day from the end, counting the last as the 1st


async def choose_language(turn: Turn, arg: str = "") -> None:
    if arg in LANGUAGES:
        turn.resident.language = arg
        turn.say("language_set")
        await turn.refresh()
        return
    turn.say(
        "choose_language",
        buttons=((global_button("lang_uk", "lang", "uk"), global_button("lang_en", "lang", "en")), continue_row()),
    )


async def ask_forget(turn: Turn, _: str) -> None:
    await turn.goto("forget_confirm")


async def enter_forget(turn: Turn) -> None:
    turn.say(
        "forget_confirm",
        buttons=((turn.button("btn_forget_yes", "yes"), turn.button("btn_no", "no")),),
    )


async def forget(turn: Turn, _: str) -> None:
    turn.discard += await turn.uow.photos.forget(turn.resident.id)
    await turn.uow.residents.forget(turn.resident.id)
    turn.session["forgotten"] = True
    turn.say("forgotten")


async def not_forgotten(turn: Turn, _: str) -> None:
    turn.say("forget_kept")
    await go_menu(turn)


MENU_STEPS = {
    "help": Step(enter_help, buttons={"forget": ask_forget}),
    "forget_confirm": Step(enter_forget, buttons={"yes": forget, "no": not_forgotten}, resumable=False),
}
