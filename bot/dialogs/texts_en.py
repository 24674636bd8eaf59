"""Every text a resident reads, in English (chosen by the resident)."""

from __future__ import annotations

from bot.dialogs.texts_uk import Template


def plural(count: str, one: str, many: str) -> str:
    """"1 digit", "3 digits"."""
    return f"{count} {one if count == '1' else many}"


def ordinal(count: str) -> str:
    """"1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"."""
    number = int(count)
    suffix = "th" if number % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{count}{suffix}"

TEXTS: dict[str, Template] = {
    "welcome": "Hello! I am Komunalka, the bot for heat, water, gas and electricity meter readings. "
               "I remember your accounts and previous readings, check every value, ask you to confirm, "
               "give you a receipt and remind you of the deadlines.",
    "privacy_notice": "ℹ️ What I keep: your messenger id, the accounts you link, the readings you hand in, "
                      "your language and reminder settings — only to take your readings and remind you. "
                      "To delete your data: \"Help\" → \"Forget me\".",
    "menu": lambda p: (p["status"] + "\n\n" if p.get("status") else "") + "Main menu. What shall we do?",
    "menu_status": "Your readings:\n{lines}",
    "status_done": "✅ {account}: handed in for {period}.",
    "status_kept": "💾 {account}: kept for {period}, I will hand them in on {opens}.",
    "status_due": "⏳ {account}: {done} of {total} handed in for {period}, intake until {closes}.",
    "status_upcoming": "🕓 {account}: intake for {period} is from {opens} to {closes}.",
    "btn_submit": "📝 Submit readings",
    "btn_accounts": "🏠 My accounts",
    "btn_history": "📊 History",
    "btn_reminders": "🔔 Reminders",
    "btn_help": "❓ Help",
    "btn_menu": "☰ Menu",
    "btn_continue": "↩ Continue",
    "btn_back": "← Back",
    "btn_cancel": "✖ Cancel",
    "btn_no": "No",
    "cancelled": "Cancelled. Nothing was saved.",
    "stale_button": "That button is no longer active. Here is where we are:",
    "stale_notice": "That button is no longer active.",
    "unsupported": "I only understand text and buttons. Here is where we are:",
    "use_buttons": "Please use the buttons.",
    "error_try_again": "Sorry, something went wrong. Please try again in a minute.",
    "help": "How readings are handed in:\n\n{suppliers}\n\n"
            "With a boiler, hot water readings must still be handed in every month, even when unchanged: "
            "the \"Unchanged\" button does it in one tap. Missed readings are billed by the supplier from "
            "averages or norms. To talk to a person, call the supplier's call centre.\n"
            "Commands: /menu, /cancel, /help, /language.",
    "help_supplier": "• {name}: {rule}. {state}\n  {contacts}",
    "help_window_open": "Open now, until {closes}.",
    "help_window_closed": "Closed now; opens on {opens}.",
    "rule_same_month": "from {opens} to {closes} of the month",
    "rule_next_month": "from {opens} of the month to {closes} of the next month",
    "day_n": lambda p: f"the {ordinal(p['n'])}",
    "day_last": "the last day",
    "day_penultimate": "the second-to-last day",
    "day_from_end": lambda p: f"the {ordinal(p['n'])} day from the end",
    "btn_language": "🌐 Мова / Language",
    "btn_forget": "🗑 Forget me",
    "choose_language": "Оберіть мову / Choose your language:",
    "lang_uk": "Українська",
    "lang_en": "English",
    "language_set": "Language changed: English.",
    "forget_confirm": "Delete all your data: linked accounts, settings, conversation state and the photos of "
                      "readings not yet handed in? Readings already handed in (and their photos) stay with the "
                      "supplier but will no longer point to you.",
    "btn_forget_yes": "Yes, delete",
    "forgotten": "Done: your data is deleted. Send /start to begin again.",
    "forget_kept": "All right, nothing deleted.",
    "account_label": "{supplier} {number}",
    "account_with_address": "{account}, {address}",
    "account_choice": "{account} · {place}",
    "place_street_apartment": "{street}, apt {apartment}",
    "place_apartment": "apt {apartment}",
    "place_street": "{street}",
    "supplier_button": "{name}",
    "account_button": "{account}",
    "link_choose_supplier": "Choose the supplier of the account you want to add:",
    "link_type_number": "Type the account number ({supplier}). For example: {example}",
    "link_bad_number": "Account numbers of \"{supplier}\" do not look like that. Type the number again, "
                       "for example: {example}",
    "link_type_payment": "To prove the account is yours, type the amount of your last payment in UAH, "
                         "for example: 1234.56",
    "link_type_apartment": "Type your apartment number, for example: 15",
    "btn_use_apartment": "No payments yet: confirm with the apartment number",
    "btn_use_payment": "Confirm with the payment amount",
    "link_bad_amount": "Type the amount as a number, for example: 1234.56",
    "link_failed": "Could not confirm: the account number or the confirmation does not match the supplier's "
                   "records. Check them and try again. If you have paid at least once, confirm with the amount "
                   "of the last payment.",
    "link_locked": "Too many failed attempts for this account. You can add it again after {until}. "
                   "If the account is yours and you need it sooner, contact \"{supplier}\": {contacts}",
    "link_tries_left": lambda p: (
        f"{p['left']} {'try' if p['left'] == '1' else 'tries'} left. After that, the account can only be added "
        "again in 24 hours."),
    "contacts_unknown": "the contacts are on the supplier's website",
    "link_done": "✅ Account {account} added.",
    "link_already": "Account {account} is already added.",
    "accounts_list": "Your accounts:\n{accounts}",
    "accounts_none": "You have not added any accounts yet.",
    "btn_link": "➕ Add an account",
    "btn_submit_once": "📨 Submit once, without adding",
    "once_choose_supplier": "Hand in readings once without adding the account (for a relative or a neighbour, say). "
                            "Choose the supplier:",
    "receipt_not_linked": "The account was not added to your list: there will be no reminders or history for it.",
    "btn_unlink": "Remove {account}",
    "unlink_confirm": "Remove account {account} from your list? Readings already handed in are kept.",
    "btn_unlink_yes": "Yes, remove",
    "unlinked": "Account {account} removed.",
    "no_accounts": "Add an account first.",
    "submit_choose_account": "Which account are the readings for?",
    "supplier_unavailable": "This supplier does not take readings through the bot right now.",
    "meter_lapsed": "⚠️ The verification of meter {meter} lapsed on {due}. The supplier does not accept its "
                    "readings: contact the supplier about verification.",
    "meter_verification_soon": "⚠️ The verification of meter {meter} lapses on {due}. Arrange it in good time.",
    "no_meters": "This account has no meters whose readings can be handed in.",
    "window_closed": "{supplier}: readings are not accepted now. Intake opens on {opens} (until {closes}). "
                     "I can keep your readings now and hand them in myself when it opens; you will get a receipt then.",
    "btn_keep_for_later": "Keep and hand in later",
    "window_passed": "⌛ {supplier}: intake of readings for {period} closed on {closes}, so these readings were not "
                     "handed in. Readings now go to the period {next}.",
    "draft_gone": "This submission is no longer current. Let's start from the menu.",
    "meter_label": "{service}{zone_part} No. {serial}",
    "zone_part": " ({zone})",
    "zone_day": "day",
    "zone_night": "night",
    "service_heating": "Heating",
    "service_hot_water": "Hot water",
    "service_cold_water": "Cold water",
    "service_gas": "Gas",
    "service_electricity": "Electricity",
    "unit_gcal": "Gcal",
    "unit_m3": "m³",
    "unit_kwh": "kWh",
    "unit_raw": "{unit}",
    "meter_prompt": "Meter {step} of {total}: {meter}\nPrevious reading: {previous} {unit} ({on}).\n"
                    "Type the current reading, for example: {example}, or send a photo of the meter.",
    "meter_prompt_first": "Meter {step} of {total}: {meter}\nNo previous readings.\n"
                          "Type the current reading, for example: {example}, or send a photo of the meter.",
    "btn_unchanged": "Unchanged",
    "parse_empty": "Type the reading as a number, for example: {example}",
    "parse_negative": "A reading cannot be negative. Type the value on the meter, for example: {example}",
    "parse_not_a_number": "That does not look like a reading. Type only the digits on the meter, "
                          "for example: {example}",
    "parse_too_many_decimals": lambda p: (
        f"This meter shows {plural(p['decimals'], 'digit', 'digits')} after the point. "
        f"Type, for example: {p['example']}"
        if p["decimals"] != "0" else
        f"This meter shows whole numbers only. Type it without a fraction, for example: {p['example']}"),
    "parse_too_many_digits": lambda p: (
        f"Too many digits: this meter has {plural(p['digits'], 'digit', 'digits')} before the point. "
        f"Check the value and type it again, for example: {p['example']}"),
    "console_buttons": "Buttons: type #1, #2… or the button's label. A bare number presses a button only where "
                       "nothing is to be typed; where the bot asks for a number or a reading, a number is your value. "
                       "A meter's photo: /photo PATH-TO-FILE.",
    "parse_wrong_unit": "This meter counts in {unit}. Type the reading in {unit} (or just the number), "
                        "for example: {example}",
    "unchanged_without_previous": "There is no previous reading, so \"unchanged\" cannot be used. Type the value.",
    "submission_cancelled": "Submission cancelled, nothing saved.",
    "lower_than_previous": lambda p: (
        f"The reading {p['value']} {p['unit']} is lower than the previous one ({p['previous']} {p['unit']}). "
        "It cannot be accepted. Type the right value"
        + (", or, if the meter was replaced or rolled over past zero, press the button."
           if p["rollover"] == "True" else ", or, if the meter was replaced, press the button.")),
    "btn_meter_replaced": "The meter was replaced",
    "btn_meter_rolled_over": "The meter rolled over past zero",
    "btn_type_again": "Type again",
    "unusual_consumption": "Consumption of {consumption} {unit} is far above the usual ({usual} {unit} a month on "
                           "average). Are you sure the reading {value} is right? "
                           "{photo_note}",
    "impossible_consumption": "Consumption of {consumption} {unit} in a month is a lot. Are you sure the reading "
                              "{value} is right? {photo_note}",
    "unusual_photo_invited": "You may send a photo of the meter as evidence.",
    "unusual_photo_attached": "📷 I will attach the photo you sent to the reading.",
    "btn_value_correct": "Yes, it is right",
    "photo_attached": "📷 Photo attached to the reading.",
    "photo_too_large": "That photo is too large for me to take. Send a smaller one (an ordinary photo from a "
                       "phone's camera will do).",
    "photo_not_image": "That does not look like a photo I can open. Send a picture (JPEG or PNG).",
    "photo_unavailable": "I could not get that photo. Send it again, or type the reading.",
    "photo_kept_type_it": "📷 I will attach the photo to the reading. I cannot read the digits off a photo: type "
                          "the value on the meter, for example: {example}",
    "photo_unread": "📷 I will attach the photo to the reading, but I could not read the meter clearly. Type the "
                    "value, for example: {example}",
    "photo_suggest": lambda p: (
        f"📷 {p['meter']}: I read {p['whole']}{'.' + p['fraction'] if p['fraction'] else ''} {p['unit']} on the "
        "photo. Is that right? If not, press \"I'll type it\" or just type the reading."),
    "btn_photo_right": "✅ Yes, that's right",
    "btn_type_myself": "✏️ I'll type it",
    "photo_elsewhere": "I take a meter's photo when I ask for its reading. Here is where we are:",
    "summary": "Check your readings: {account}, period {period}:\n{lines}\n{notes}",
    "summary_line_typed": "• {meter}: {previous} → {value} {unit}, consumption {consumption} {unit}",
    "summary_line_unchanged": "• {meter}: {value} {unit} (unchanged)",
    "summary_line_rollover": "• {meter}: {previous} → {value} {unit} (rolled over), consumption {consumption} {unit}",
    "summary_line_replaced": "• {meter}: {value} {unit} ({new_meter})",
    "new_meter_details": "new meter No. {serial}, installed on {installed}",
    "new_meter_serial": "Type the serial number of the new meter (it is on the meter and in the replacement act).",
    "new_meter_serial_bad": "A meter's serial number is up to 40 letters and digits, for example: 12345678. "
                            "Type it again.",
    "new_meter_date": "When was the new meter installed? Type the date, for example: {example}",
    "new_meter_date_bad": "I could not read that date (it cannot be in the future). Type, for example: {example}",
    "btn_installed_today": "Today",
    "btn_skip": "Skip",
    "new_meter_start": "What did the new meter show when it was installed? It is in the replacement act. "
                       "If you do not know, press \"Don't know\".",
    "new_meter_start_bad": "That does not look like the starting value: it cannot be above {value} {unit}. "
                           "Type it again or press \"Don't know\".",
    "btn_dont_know": "Don't know",
    "new_meter_act": "You may send a photo of the meter replacement act: I will attach it to the reading. Or skip.",
    "summary_replaces": "These readings will replace the ones you handed in on {on}.",
    "summary_replaces_household": "These readings will replace the ones another member of the household handed in "
                                  "on {on}:\n{lines}",
    "handed_in_line": "  {meter}: {value} {unit}",
    "meter_handed_in": "Already handed in for this period: {value} {unit} ({at}, {by}).",
    "by_you": "by you",
    "by_household": "by another member of the household",
    "readings_replaced_by_household": "ℹ️ The readings you handed in ({account}, period {period}) were replaced: "
                                      "another member of the household handed in new ones. New receipt number: "
                                      "{reference}.",
    "summary_pending": "Intake is not open yet: I will keep these readings and hand them in on {opens}.",
    # estimates (issue 10): what the readings will cost, from the supplier's dated tariffs
    "estimate_meter": "  estimate {amount}",
    "estimate_meter_no_price": "  estimate: price not known for that period",
    "estimate_meter_no_consumption": "  estimate: cannot be counted without the consumption",
    "estimate_fee": "+ {name}: {amount}",
    "estimate_total": "💰 Estimated total: {amount}",
    "estimate_none": "💰 No estimate: the reason is under each meter.",
    "estimate_left_out_no_price": "  {meter}: left out, price not known for that period",
    "estimate_left_out_no_consumption": "  {meter}: left out, consumption not known",
    "estimate": "{lines}\n(An estimate from the supplier's tariffs; the bill gives the exact amount.)",
    "history_estimates": "💰 Estimated cost per period:\n{lines}",
    "history_estimate": "  {period}: estimate {amount}",
    "history_estimate_partial": lambda p: (
        f"  {p['period']}: estimate {p['amount']}, leaving out {plural(p['count'], 'meter', 'meters')} "
        "(price or consumption not known)"),
    "history_estimate_none": "  {period}: no estimate (price or consumption not known)",
    "btn_confirm": "✅ Confirm",
    "btn_fix": "✏️ Correct one",
    "fix_choose": "Which reading do you want to correct?",
    "meter_button": "{meter}",
    "receipt": lambda p: (
        f"✅ Readings accepted ({p['account']}, period {p['period']}), {p['at']}:\n{p['lines']}\n"
        f"Receipt number: {p['reference']}."
        + (" Your earlier readings for this period were replaced." if p["replaced"] != "0" else "")),
    "receipt_pending": "💾 Readings kept ({account}, period {period}), {at}:\n{lines}\nNumber: {reference}. "
                       "I will hand them in on {opens}, when intake opens, and send you a receipt.",
    "btn_receipts": "🧾 My receipts",
    "receipt_value": "• {meter}: {value} {unit}",
    "receipt_value_status": "• {meter}: {value} {unit} — {status}",
    "receipt_status_accepted": "accepted",
    "receipt_status_pending": "kept for later",
    "receipt_status_replaced": "replaced",
    "receipt_status_expired": "expired: not handed in, intake closed",
    "receipt_status_join": "{first}, {rest}",
    "receipts": "🧾 Your latest receipts, newest first:\n{lines}\n\n"
                "To find a receipt, send its number, for example {example}.",
    "receipts_none": "🧾 No receipts yet: one comes as soon as you confirm readings. "
                     "To find a receipt, send its number, for example {example}.",
    "receipts_line": "• {at} · {reference}\n  {account}, period {period} — {status}",
    "receipt_button": "{reference}",
    "receipt_card": "🧾 Receipt {reference}\n{account}, period {period}\nHanded in {at}:\n{lines}\n{notes}",
    "receipt_handed_in": "The kept readings were handed in to the supplier on {at}.",
    "btn_receipts_all": "🧾 All receipts",
    "receipt_not_found": "Receipt {reference} was not found among yours. The number is in the message that "
                         "accepted the readings, for example {example}.",
    "receipt_bad_reference": "That does not look like a receipt number. Send the number, for example {example}, "
                             "or choose a receipt with a button.",
    "history_receipts": "Receipts:\n{lines}",
    "history_receipt": "• {period} · {reference} · {at} — {status}",
    "history_kept_value": "↳ {meter}: {value} {unit}",
    "history_choose_account": "Which account's history?",
    "history": lambda p: "\n\n".join(  # the estimates and receipts blocks only where there are any
        part for part in (f"History: {p['account']}", p["meters"], p.get("estimates", ""), p["receipts"]) if part),
    "history_meter": "{meter}:\n{lines}",
    "history_line": "  {period}: {value} {unit} (used {consumption})",
    "history_empty": "  no readings yet",
    "history_chart_title": "Consumption: {account}",
    "chart_axis": "Consumption, {unit}",
    "chart_meter": "{service}",
    "chart_meter_zone": "{service} ({zone})",
    "chart_meter_serial": "{meter}, No. …{serial}",
    "chart_label_raw": "{label}",
    "console_photo_usage": "To send a photo of the meter, type /photo and the file's path, for example: "
                           "/photo /home/olena/meter.jpg",
    "console_photo_missing": "There is no file {path} (or it is not a file). Check the path and send it again.",
    "console_chart_saved": "📈 Chart saved to the file: {path}",
    "btn_history_other": "Another account",
    # bills and payments (bot/dialogs/money.py)
    "btn_money": "💳 Bills and payments",
    "money_choose_account": "Bills and payments: choose an account.",
    "money": lambda p: "\n\n".join(part for part in (
        f"💳 {p['account']}", p["balance"], p.get("pay", ""), p.get("paid_after", ""), p["movements"],
        "Figures from the supplier's billing; a payment just made may take a few days to show.") if part),
    "money_owes": "As of {on} you owe {amount}.",
    "money_overpaid": "As of {on} you have overpaid {amount}.",
    "money_nothing_owed": "As of {on} nothing is owed.",
    "money_no_balance": "The supplier has not given a balance for this account yet.",
    "money_paid_after": "Payments received after {on} (not in the balance yet):\n{lines}\nIn all: {paid}",
    "money_year": "Payments and charges in the last 12 months (since {since}):\n{lines}\n\n"
                  "Paid in all: {paid}\nCharged in all: {charged}",
    "money_year_empty": "No payments or charges in the last 12 months (since {since}).",
    "money_line_payment": "• {on} — payment {amount}",
    "money_line_charge": "• {on} — charge {amount}",
    "btn_pay": "💳 Pay {amount}",
    "money_discount": "💡 Pay by {deadline} and the supplier takes {percent}% off.",
    "money_discount_next": "💡 The supplier takes {percent}% off a bill paid by its day; this month's has "
                           "passed, the next is {deadline}.",
    "money_pay_elsewhere": "Pay in the supplier's cabinet or at your bank with the details on the bill: this "
                           "supplier has not given payment details for the bot yet.",
    "pay": lambda p: (
        f"💳 Paying — {p['account']}\n{p['what']}\nTo pay: {p['amount']}{p['discount']}\n\n"
        f"Recipient: {p['recipient']}\nIBAN: {p['iban']}\nEDRPOU: {p['edrpou']}\nPurpose: {p['purpose']}"
        f"{p['page']}\n\nThe bot never asks for or sees your card details: your bank pays, and the money goes "
        "straight to the supplier. The payment shows in the supplier's records within a few days."),
    "pay_what_balance": "Balance as of {on}: {amount}{paid}.",
    "pay_paid_since": "; since then you paid {paid}",
    "pay_what_estimate": "The supplier has not given a balance yet, so this is the estimate of your readings for "
                         "{period}: {amount}. The bill will say the exact amount.",
    "pay_discount": " — with the {percent}% discount for paying by {deadline} ({full} without it)",
    "pay_page": "\n\nOr on the supplier's payment page:\n{url}",
    "pay_nothing": "💳 {account}: there is nothing to pay now.",
    "reminders_none": "Reminders come for linked accounts. Add an account first.",
    "reminders": "Reminders to hand in readings:\n{lines}",
    "reminder_state_on": "• {supplier}: on",
    "reminder_state_off": "• {supplier}: off",
    "btn_reminder_off": "Turn off: {supplier}",
    "btn_reminder_on": "Turn on: {supplier}",
    "reminder_turned_on": "Reminders turned on: {supplier}.",
    "reminder_turned_off": "Reminders turned off: {supplier}.",
    "reminder_opens": "🔔 {supplier}: intake of readings for {period} is open until {deadline}. "
                      "Not handed in yet:\n{accounts}{discount}",
    "reminder_closing": lambda p: (
        f"🔔 {p['supplier']}: {plural(p['days'], 'day', 'days')} left to hand in readings for {p['period']} "
        f"(last day {p['deadline']}). Not handed in yet:\n{p['accounts']}\n"
        f"Without readings the supplier bills from averages or norms.{p['discount']}"),
    "reminder_last_day": "⏰ {supplier}: today, {deadline}, is the last day to hand in readings for {period}. "
                         "Not handed in yet:\n{accounts}\nWithout readings the supplier bills from averages or norms."
                         "{discount}",
    "reminder_discount": "\n💡 Pay the bill by {deadline} and the supplier takes {percent}% off.",
    "reminder_account": "{account} ({place}):\n{meters}",
    "btn_submit_account": "📝 Submit readings {number} · {place}",
    "btn_submit_kept": "📝 Submit readings {number}",
    "handover_receipt": "✅ Your kept readings were handed in to the supplier ({account}, period {period}). "
                        "Receipt number: {reference}.",
    "kept_expired": "⌛ Your kept readings were not handed in ({account}, period {period}): intake closed on {closes} "
                    "before I could hand them in. The supplier did not receive them. {then}",
    "kept_expired_open_now": "Intake of readings for {period} is open now, until {closes}: please hand in your "
                             "readings again.",
    "kept_expired_opens": "The next intake is from {opens} to {closes} (period {period}): hand in your readings then, "
                          "or keep them now to be handed in.",
    # paying: the NBU payment QR code
    "payment_qr_caption": "Scan the QR code in your bank's app: the details and the amount fill in by themselves. "
                          "The bot never sees your card.",
    "payment_qr_link": "On a phone, open the link instead and your bank's app fills in the payment:\n{link}",
    "console_qr_saved": "₴ Payment QR code saved to the file: {path}",
    "verification_warning": "⚠️ The verification of meter {meter} ({account}) lapses on {due}. After that date the "
                            "supplier will not accept its readings: arrange the verification in good time.",
}
