"""The whole conversation in one table: every step, and what works from every step."""

from __future__ import annotations

from core.conversation import Conversation, Step
from bot.dialogs import (
    history,
    linking,
    menu,
    meter_photos,
    money,
    paying,
    receipts,
    reminders,
    replacement,
    submission,
)
from bot.dialogs.common import go_menu, resume

STEPS: dict[str, Step] = {
    "menu": Step(
        menu.enter_menu,
        buttons={
            "submit": submission.open_submit,
            "accounts": linking.open_accounts,
            "history": history.open_history,
            "reminders": reminders.open_reminders,
            "help": menu.open_help,
            "receipts": receipts.open_receipts,
            "money": money.open_money,
        },
        text=receipts.menu_text,  # a receipt's reference
        numbers=False,  # a bare number at the menu presses a button in the console
    ),
    **linking.LINKING_STEPS,
    **submission.SUBMISSION_STEPS,
    **replacement.REPLACEMENT_STEPS,
    **meter_photos.PHOTO_STEPS,
    **history.HISTORY_STEPS,
    **reminders.REMINDER_STEPS,
    **menu.MENU_STEPS,
    **receipts.RECEIPT_STEPS,
    **money.MONEY_STEPS,
    **paying.PAYING_STEPS,
}
STEPS["lower_ask"] = Step(STEPS["lower_ask"].enter, text=STEPS["lower_ask"].text,
                          buttons={**STEPS["lower_ask"].buttons, "replaced": replacement.meter_replaced})
STEPS["meter_value"] = Step(STEPS["meter_value"].enter, text=STEPS["meter_value"].text,
                            buttons=STEPS["meter_value"].buttons, photo=meter_photos.meter_photo)
# "no accounts yet" screens offer to link one; the submit screen also to hand in once, which the other two still
# take: a chat may hold their older screens, which offered it
for _name in ("submit_account", "history_account", "money_account"):
    STEPS[_name] = Step(STEPS[_name].enter,
                        buttons={**STEPS[_name].buttons, "link": linking.open_link, "once": linking.open_once})

COMMANDS = {
    **dict.fromkeys(("/start", "start", "старт", "/старт", "почати"), menu.start),
    **dict.fromkeys(("/menu", "menu", "меню", "/меню"), go_menu),
    **dict.fromkeys(("/cancel", "cancel", "скасувати", "/скасувати", "відміна"), menu.cancel),
    **dict.fromkeys(("/help", "help", "допомога", "/допомога"), menu.open_help),
    **dict.fromkeys(("/language", "language", "мова", "/мова"), menu.choose_language),
}

GLOBAL_BUTTONS = {
    "menu": go_menu,
    "resume": resume,
    "help": menu.open_help,
    "lang": menu.choose_language,
    "sub": submission.submit_for_account,  # under reminders: names an account, checked against the links
}

CONVERSATION = Conversation(
    steps=STEPS,
    commands=COMMANDS,
    global_buttons=GLOBAL_BUTTONS,
    start=menu.start,
    cancel=menu.cancel,
    home=go_menu,
    stale=menu.stale,
    unsupported=menu.unsupported,
    photo_elsewhere=menu.photo_elsewhere,
)
