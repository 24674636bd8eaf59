"""Every text a resident reads, in Ukrainian (the default language).

Values are str.format templates; a callable builds a text that depends on its parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Template = str | Callable[[dict[str, Any]], str]


def plural(count: str, one: str, few: str, many: str) -> str:
    """"1 знак", "2 знаки", "5 знаків": Ukrainian takes three forms, 11–14 the third."""
    number = int(count)
    if number % 10 == 1 and number % 100 != 11:
        form = one
    elif 2 <= number % 10 <= 4 and not 12 <= number % 100 <= 14:
        form = few
    else:
        form = many
    return f"{count} {form}"


TEXTS: dict[str, Template] = {
    # start, menu, anywhere
    "welcome": "Вітаю! Я Комуналка — бот для показників лічильників тепла, води, газу й електроенергії. "
               "Я пам'ятаю ваші рахунки й попередні показники, перевіряю кожне значення, "
               "прошу підтвердження, даю квитанцію і нагадую про строки.",
    "privacy_notice": "ℹ️ Що я зберігаю: ваш ідентифікатор у месенджері, прив'язані особові рахунки, "
                      "передані показники, мову й налаштування нагадувань — лише щоб приймати показники "
                      "й нагадувати про них. Видалити свої дані: «Довідка» → «Забути мене».",
    "menu": lambda p: (p["status"] + "\n\n" if p.get("status") else "") + "Головне меню. Що робимо?",
    "menu_status": "Стан показників:\n{lines}",
    "status_done": "✅ {account}: за {period} передано.",
    "status_kept": "💾 {account}: за {period} збережено, передам {opens}.",
    "status_due": "⏳ {account}: за {period} передано {done} з {total}, прийом до {closes}.",
    "status_upcoming": "🕓 {account}: прийом за {period} — з {opens} до {closes}.",
    "btn_submit": "📝 Передати показники",
    "btn_accounts": "🏠 Мої рахунки",
    "btn_history": "📊 Історія",
    "btn_reminders": "🔔 Нагадування",
    "btn_help": "❓ Довідка",
    "btn_menu": "☰ Меню",
    "btn_continue": "↩ Продовжити",
    "btn_back": "← Назад",
    "btn_cancel": "✖ Скасувати",
    "btn_no": "Ні",
    "cancelled": "Скасовано. Нічого не збережено.",
    "stale_button": "Ця кнопка вже неактуальна. Ось де ми зараз:",
    "stale_notice": "Ця кнопка вже неактуальна.",
    "unsupported": "Я розумію лише текст і кнопки. Ось де ми зараз:",
    "use_buttons": "Будь ласка, скористайтеся кнопками.",
    "error_try_again": "Вибачте, щось пішло не так. Спробуйте ще раз за хвилину.",
    # help
    "help": "Правила передачі показників:\n\n{suppliers}\n\n"
            "Якщо у вас бойлер, показники гарячої води все одно треба передавати щомісяця — навіть "
            "незмінні: для цього є кнопка «Без змін». Пропущені показники постачальник рахує за середнім "
            "або за нормою. Щоб поговорити з людиною — телефонуйте до кол-центру постачальника.\n"
            "Команди: /menu, /cancel, /help, /language.",
    "help_supplier": "• {name}: {rule}. {state}\n  {contacts}",
    "help_window_open": "Зараз приймаються, до {closes}.",
    "help_window_closed": "Зараз не приймаються; прийом відкриється {opens}.",
    "rule_same_month": "з {opens} до {closes} місяця включно",
    "rule_next_month": "з {opens} місяця до {closes} наступного місяця включно",
    "day_n": "{n}-го числа",
    "day_last": "останнього дня",
    "day_penultimate": "передостаннього дня",
    "day_from_end": "{n}-го дня з кінця",
    "btn_language": "🌐 Мова / Language",
    "btn_forget": "🗑 Забути мене",
    "choose_language": "Оберіть мову / Choose your language:",
    "lang_uk": "Українська",
    "lang_en": "English",
    "language_set": "Мову змінено: українська.",
    "forget_confirm": "Видалити всі ваші дані: прив'язки рахунків, налаштування, стан розмови й фото показників, "
                      "ще не переданих постачальнику? Уже передані показники (і фото до них) залишаться у "
                      "постачальника, але більше не будуть пов'язані з вами.",
    "btn_forget_yes": "Так, видалити",
    "forgotten": "Готово: ваші дані видалено. Щоб почати знову, надішліть /start.",
    "forget_kept": "Гаразд, нічого не видаляю.",
    # accounts and linking
    "account_label": "{supplier} {number}",
    "account_with_address": "{account}, {address}",
    "account_choice": "{account} · {place}",
    "place_street_apartment": "{street}, кв. {apartment}",
    "place_apartment": "кв. {apartment}",
    "place_street": "{street}",
    "supplier_button": "{name}",
    "account_button": "{account}",
    "link_choose_supplier": "Оберіть постачальника, чий рахунок хочете додати:",
    "link_type_number": "Введіть номер особового рахунку ({supplier}). Наприклад: {example}",
    "link_bad_number": "Такого формату номера не буває у постачальника «{supplier}». "
                       "Введіть номер ще раз, наприклад: {example}",
    "link_type_payment": "Щоб підтвердити, що рахунок ваш, введіть суму останнього платежу в гривнях, "
                         "наприклад: 1234,56",
    "link_type_apartment": "Введіть номер квартири, наприклад: 15",
    "btn_use_apartment": "Платежів ще не було — підтвердити номером квартири",
    "btn_use_payment": "Підтвердити сумою платежу",
    "link_bad_amount": "Введіть суму числом, наприклад: 1234,56",
    "link_failed": "Не вдалося підтвердити: номер рахунку або підтвердження не збігаються з даними "
                   "постачальника. Перевірте й спробуйте ще раз. Якщо ви вже платили хоч раз, "
                   "підтверджуйте сумою останнього платежу.",
    "link_locked": "Забагато невдалих спроб для цього рахунку. Додати його можна буде після {until}. "
                   "Якщо рахунок ваш і потрібно раніше — зверніться до постачальника «{supplier}»: {contacts}",
    "link_tries_left": lambda p: (
        f"Залишилося спроб: {p['left']}. Після цього додати рахунок можна буде лише через добу."),
    "contacts_unknown": "контакти є на сайті постачальника",
    "link_done": "✅ Рахунок {account} додано.",
    "link_already": "Рахунок {account} уже додано.",
    "accounts_list": "Ваші рахунки:\n{accounts}",
    "accounts_none": "У вас ще немає доданих рахунків.",
    "btn_link": "➕ Додати рахунок",
    "btn_submit_once": "📨 Передати разово, без додавання",
    "once_choose_supplier": "Разова передача показників без додавання рахунку (наприклад, за родичів чи сусідів). "
                            "Оберіть постачальника:",
    "receipt_not_linked": "Рахунок не додано до вашого списку: нагадувань і історії для нього не буде.",
    "btn_unlink": "Прибрати {account}",
    "unlink_confirm": "Прибрати рахунок {account} з вашого списку? Передані показники збережуться.",
    "btn_unlink_yes": "Так, прибрати",
    "unlinked": "Рахунок {account} прибрано.",
    # submission
    "no_accounts": "Спершу додайте особовий рахунок.",
    "submit_choose_account": "Для якого рахунку передаємо показники?",
    "supplier_unavailable": "Цей постачальник зараз не приймає показники через бот.",
    "meter_lapsed": "⚠️ Строк повірки лічильника {meter} минув {due}. Постачальник не приймає його "
                    "показники — зверніться до постачальника щодо повірки.",
    "meter_verification_soon": "⚠️ Строк повірки лічильника {meter} спливає {due}. Подбайте про повірку заздалегідь.",
    "no_meters": "Для цього рахунку немає лічильників, показники яких можна передати.",
    "window_closed": "{supplier}: показники зараз не приймаються. Прийом відкриється {opens} (до {closes}). "
                     "Можу зберегти ваші показники зараз і сам передати їх, щойно прийом відкриється, — "
                     "тоді надішлю квитанцію.",
    "btn_keep_for_later": "Зберегти й передати пізніше",
    "window_passed": "⌛ {supplier}: прийом показників за {period} закрився {closes}, тож ці показники не передано. "
                     "Тепер показники приймаються для періоду {next}.",
    "draft_gone": "Ця передача показників уже неактуальна. Почнімо з меню.",
    "meter_label": "{service}{zone_part} №{serial}",
    "zone_part": " ({zone})",
    "zone_day": "день",
    "zone_night": "ніч",
    "service_heating": "Опалення",
    "service_hot_water": "Гаряча вода",
    "service_cold_water": "Холодна вода",
    "service_gas": "Газ",
    "service_electricity": "Електроенергія",
    "unit_gcal": "Гкал",
    "unit_m3": "м³",
    "unit_kwh": "кВт·год",
    "unit_raw": "{unit}",
    "meter_prompt": "Лічильник {step} з {total}: {meter}\nПопередній показник: {previous} {unit} ({on}).\n"
                    "Введіть поточний показник, наприклад: {example}, або надішліть фото лічильника.",
    "meter_prompt_first": "Лічильник {step} з {total}: {meter}\nПопередніх показників немає.\n"
                          "Введіть поточний показник, наприклад: {example}, або надішліть фото лічильника.",
    "btn_unchanged": "Без змін",
    "parse_empty": "Введіть показник числом, наприклад: {example}",
    "parse_negative": "Показник не може бути від'ємним. Введіть значення з лічильника, наприклад: {example}",
    "parse_not_a_number": "Це не схоже на показник. Введіть лише цифри з лічильника, наприклад: {example}",
    "parse_too_many_decimals": lambda p: (
        f"У цього лічильника {plural(p['decimals'], 'знак', 'знаки', 'знаків')} після коми. "
        f"Введіть, наприклад: {p['example']}"
        if p["decimals"] != "0" else
        f"Цей лічильник показує лише цілі числа. Введіть без дробової частини, наприклад: {p['example']}"),
    "parse_too_many_digits": lambda p: (
        f"Забагато цифр: у лічильника {plural(p['digits'], 'цифра', 'цифри', 'цифр')} до коми. Перевірте "
        f"значення й введіть ще раз, наприклад: {p['example']}"),
    "console_buttons": "Кнопки: введіть #1, #2… або напис на кнопці. Просто число натискає кнопку лише там, "
                       "де нічого не треба вводити; де бот просить номер чи показник, число — це ваше значення. "
                       "Фото лічильника: /фото ШЛЯХ-ДО-ФАЙЛУ.",
    "parse_wrong_unit": "Цей лічильник рахує в {unit}. Введіть показник у {unit} (або лише число), "
                        "наприклад: {example}",
    "unchanged_without_previous": "Попереднього показника немає, тож «без змін» не підійде. Введіть значення.",
    "submission_cancelled": "Передачу скасовано, нічого не збережено.",
    "lower_than_previous": lambda p: (
        f"Показник {p['value']} {p['unit']} менший за попередній ({p['previous']} {p['unit']}). "
        "Такий показник не приймається. Введіть правильне значення"
        + (", або, якщо лічильник замінили чи він «перекрутився» через нуль, натисніть відповідну кнопку."
           if p["rollover"] == "True" else ", або, якщо лічильник замінили, натисніть кнопку.")),
    "btn_meter_replaced": "Лічильник замінили",
    "btn_meter_rolled_over": "Лічильник перейшов через нуль",
    "btn_type_again": "Ввести ще раз",
    "unusual_consumption": "Споживання {consumption} {unit} — набагато більше, ніж зазвичай "
                           "(у середньому {usual} {unit} на місяць). Ви впевнені, що показник {value} правильний? "
                           "{photo_note}",
    "impossible_consumption": "Споживання {consumption} {unit} за місяць — це дуже багато. Ви впевнені, що показник "
                              "{value} правильний? {photo_note}",
    "unusual_photo_invited": "Можете надіслати фото лічильника як підтвердження.",
    "unusual_photo_attached": "📷 Фото, яке ви надіслали, додам до показника.",
    "btn_value_correct": "Так, правильно",
    "photo_attached": "📷 Фото додано до показника.",
    "photo_too_large": "Фото завелике, я не можу його прийняти. Надішліть менше фото (звичайне фото з камери "
                       "телефона підійде).",
    "photo_not_image": "Це не схоже на фото, яке я можу відкрити. Надішліть фотографію (JPEG або PNG).",
    "photo_unavailable": "Не вдалося отримати фото. Надішліть його ще раз або введіть показник.",
    "photo_kept_type_it": "📷 Фото додам до показника. Прочитати цифри з фото я не можу — введіть показник з "
                          "лічильника, наприклад: {example}",
    "photo_unread": "📷 Фото додам до показника, але чітко прочитати лічильник не вдалося. Введіть показник, "
                    "наприклад: {example}",
    "photo_suggest": lambda p: (
        f"📷 {p['meter']}: з фото я прочитав {p['whole']}{',' + p['fraction'] if p['fraction'] else ''} "
        f"{p['unit']}. Це правильно? Якщо ні — натисніть «Введу сам» або просто введіть показник."),
    "btn_photo_right": "✅ Так, правильно",
    "btn_type_myself": "✏️ Введу сам",
    "photo_elsewhere": "Фото лічильника я приймаю, коли прошу його показник. Ось де ми зараз:",
    "summary": "Перевірте показники — {account}, період {period}:\n{lines}\n{notes}",
    "summary_line_typed": "• {meter}: {previous} → {value} {unit}, споживання {consumption} {unit}",
    "summary_line_unchanged": "• {meter}: {value} {unit} (без змін)",
    "summary_line_rollover": "• {meter}: {previous} → {value} {unit} (перехід через нуль), споживання "
                             "{consumption} {unit}",
    "summary_line_replaced": "• {meter}: {value} {unit} ({new_meter})",
    "new_meter_details": "новий лічильник №{serial}, встановлено {installed}",
    "new_meter_serial": "Введіть заводський номер нового лічильника (він є на корпусі й в акті заміни).",
    "new_meter_serial_bad": "Номер лічильника — це до 40 літер і цифр, наприклад: 12345678. Введіть його ще раз.",
    "new_meter_date": "Коли встановили новий лічильник? Введіть дату, наприклад: {example}",
    "new_meter_date_bad": "Не вдалося прочитати дату (вона не може бути в майбутньому). Введіть, наприклад: {example}",
    "btn_installed_today": "Сьогодні",
    "btn_skip": "Пропустити",
    "new_meter_start": "Який показник був на новому лічильнику при встановленні? Він є в акті заміни. "
                       "Якщо не знаєте — натисніть «Не знаю».",
    "new_meter_start_bad": "Це не схоже на початковий показник: він не може бути більшим за {value} {unit}. "
                           "Введіть його ще раз або натисніть «Не знаю».",
    "btn_dont_know": "Не знаю",
    "new_meter_act": "Можете надіслати фото акту заміни лічильника — я додам його до показника. Або пропустіть.",
    "summary_replaces": "Ці показники замінять передані вами {on}.",
    "summary_replaces_household": "Ці показники замінять передані іншим членом домогосподарства {on}:\n{lines}",
    "handed_in_line": "  {meter}: {value} {unit}",
    "meter_handed_in": "За цей період уже передано: {value} {unit} ({at}, {by}).",
    "by_you": "вами",
    "by_household": "іншим членом домогосподарства",
    "readings_replaced_by_household": "ℹ️ Показники, які ви передали ({account}, період {period}), замінено: "
                                      "інший член домогосподарства передав нові. Номер нової квитанції: {reference}.",
    "summary_pending": "Прийом ще не відкрито: я збережу показники й передам їх {opens}.",
    # estimates (issue 10): what the readings will cost, from the supplier's dated tariffs
    "estimate_meter": "  орієнтовно {amount}",
    "estimate_meter_no_price": "  орієнтовно: ціна за цей період невідома",
    "estimate_meter_no_consumption": "  орієнтовно: без споживання не порахувати",
    "estimate_fee": "+ {name}: {amount}",
    "estimate_total": "💰 Разом орієнтовно: {amount}",
    "estimate_none": "💰 Орієнтовну вартість не пораховано — причину вказано біля лічильника.",
    "estimate_left_out_no_price": "  {meter} — не враховано: ціна за цей період невідома",
    "estimate_left_out_no_consumption": "  {meter} — не враховано: споживання невідоме",
    "estimate": "{lines}\n(Орієнтовна сума за тарифами постачальника; точну покаже рахунок.)",
    "history_estimates": "💰 Орієнтовна вартість за періодами:\n{lines}",
    "history_estimate": "  {period}: орієнтовно {amount}",
    "history_estimate_partial": lambda p: (
        f"  {p['period']}: орієнтовно {p['amount']}, без "
        f"{plural(p['count'], 'лічильника', 'лічильників', 'лічильників')} (ціна чи споживання невідомі)"),
    "history_estimate_none": "  {period}: не пораховано (ціна чи споживання невідомі)",
    "btn_confirm": "✅ Підтвердити",
    "btn_fix": "✏️ Виправити один",
    "fix_choose": "Який показник виправити?",
    "meter_button": "{meter}",
    "receipt": lambda p: (
        f"✅ Показники прийнято ({p['account']}, період {p['period']}), {p['at']}:\n{p['lines']}\n"
        f"Номер квитанції: {p['reference']}."
        + (" Попередні показники за цей період замінено." if p["replaced"] != "0" else "")),
    "receipt_pending": "💾 Показники збережено ({account}, період {period}), {at}:\n{lines}\nНомер: {reference}. "
                       "Я передам їх {opens}, щойно відкриється прийом, і надішлю квитанцію.",
    "btn_receipts": "🧾 Мої квитанції",
    "receipt_value": "• {meter}: {value} {unit}",
    "receipt_value_status": "• {meter}: {value} {unit} — {status}",
    "receipt_status_accepted": "прийнято",
    "receipt_status_pending": "збережено, буде передано",
    "receipt_status_replaced": "замінено новішими",
    "receipt_status_expired": "не передано: прийом закрився",
    "receipt_status_join": "{first}, {rest}",
    "receipts": "🧾 Ваші останні квитанції, найновіші першими:\n{lines}\n\n"
                "Щоб знайти квитанцію, надішліть її номер, наприклад {example}.",
    "receipts_none": "🧾 Квитанцій ще немає: вона з'являється, щойно ви підтвердите показники. "
                     "Щоб знайти квитанцію, надішліть її номер, наприклад {example}.",
    "receipts_line": "• {at} · {reference}\n  {account}, період {period} — {status}",
    "receipt_button": "{reference}",
    "receipt_card": "🧾 Квитанція {reference}\n{account}, період {period}\nПередано {at}:\n{lines}\n{notes}",
    "receipt_handed_in": "Збережені показники передано постачальнику {at}.",
    "btn_receipts_all": "🧾 Усі квитанції",
    "receipt_not_found": "Квитанцію {reference} не знайдено серед ваших. Номер є в повідомленні про прийняття "
                         "показників, наприклад {example}.",
    "receipt_bad_reference": "Це не схоже на номер квитанції. Надішліть номер, наприклад {example}, "
                             "або оберіть квитанцію кнопкою.",
    "history_receipts": "Квитанції:\n{lines}",
    "history_receipt": "• {period} · {reference} · {at} — {status}",
    "history_kept_value": "↳ {meter}: {value} {unit}",
    # history
    "history_choose_account": "Історію якого рахунку показати?",
    "history": lambda p: "\n\n".join(  # the estimates and receipts blocks only where there are any
        part for part in (f"Історія — {p['account']}:", p["meters"], p.get("estimates", ""), p["receipts"]) if part),
    "history_meter": "{meter}:\n{lines}",
    "history_line": "  {period}: {value} {unit} (спожито {consumption})",
    "history_empty": "  показників ще немає",
    "history_chart_title": "Споживання — {account}",
    "chart_axis": "Споживання, {unit}",
    "chart_meter": "{service}",
    "chart_meter_zone": "{service} ({zone})",
    "chart_meter_serial": "{meter}, №…{serial}",
    "chart_label_raw": "{label}",
    "console_photo_usage": "Щоб надіслати фото лічильника, введіть /photo і шлях до файлу, наприклад: "
                           "/photo /home/olena/лічильник.jpg",
    "console_photo_missing": "Файлу {path} немає (або це не файл). Перевірте шлях і надішліть ще раз.",
    "console_chart_saved": "📈 Графік збережено у файл: {path}",
    "btn_history_other": "Інший рахунок",
    # reminders
    # bills and payments (bot/dialogs/money.py)
    "btn_money": "💳 Рахунки й оплати",
    "money_choose_account": "Рахунки й оплати: оберіть рахунок.",
    "money": lambda p: "\n\n".join(part for part in (
        f"💳 {p['account']}", p["balance"], p.get("pay", ""), p.get("paid_after", ""), p["movements"],
        "Дані — з обліку постачальника; щойно зроблена оплата може з'явитися за кілька днів.") if part),
    "money_owes": "Станом на {on} до сплати: {amount}.",
    "money_overpaid": "Станом на {on} переплата: {amount}.",
    "money_nothing_owed": "Станом на {on} боргу немає.",
    "money_no_balance": "Постачальник ще не передав залишку за цим рахунком.",
    "money_paid_after": "Після {on} надійшли оплати (у залишку їх ще немає):\n{lines}\nРазом: {paid}",
    "money_year": "Оплати й нарахування за останні 12 місяців (з {since}):\n{lines}\n\n"
                  "Оплачено разом: {paid}\nНараховано разом: {charged}",
    "money_year_empty": "Оплат і нарахувань за останні 12 місяців (з {since}) немає.",
    "money_line_payment": "• {on} — оплата {amount}",
    "money_line_charge": "• {on} — нараховано {amount}",
    "btn_pay": "💳 Сплатити {amount}",
    "money_discount": "💡 Оплатіть до {deadline} — постачальник дає знижку {percent} %.",
    "money_discount_next": "💡 Постачальник дає знижку {percent} % за оплату до визначеного дня; цього місяця "
                           "він минув, наступний — {deadline}.",
    "money_pay_elsewhere": "Сплатити можна в кабінеті постачальника або в банку за реквізитами з квитанції: "
                           "реквізитів для оплати через бот цей постачальник ще не надав.",
    "pay": lambda p: (
        f"💳 Оплата — {p['account']}\n{p['what']}\nДо сплати: {p['amount']}{p['discount']}\n\n"
        f"Отримувач: {p['recipient']}\nIBAN: {p['iban']}\nЄДРПОУ: {p['edrpou']}\nПризначення: {p['purpose']}"
        f"{p['page']}\n\nБот ніколи не питає й не бачить даних вашої картки: платить ваш банк, "
        "гроші йдуть просто постачальнику. Оплата з'явиться в його обліку за кілька днів."),
    "pay_what_balance": "Залишок станом на {on}: {amount}{paid}.",
    "pay_paid_since": "; після цього ви сплатили {paid}",
    "pay_what_estimate": "Залишку від постачальника ще немає, тож це орієнтовна сума за показниками періоду "
                         "{period}: {amount}. Точну суму покаже рахунок.",
    "pay_discount": " — зі знижкою {percent} % за оплату до {deadline} (без знижки {full})",
    "pay_page": "\n\nАбо на сторінці оплати постачальника:\n{url}",
    "pay_nothing": "💳 {account}: зараз нічого сплачувати.",
    "reminders_none": "Нагадування надходять для доданих рахунків. Спершу додайте рахунок.",
    "reminders": "Нагадування про передачу показників:\n{lines}",
    "reminder_state_on": "• {supplier}: увімкнено",
    "reminder_state_off": "• {supplier}: вимкнено",
    "btn_reminder_off": "Вимкнути: {supplier}",
    "btn_reminder_on": "Увімкнути: {supplier}",
    "reminder_turned_on": "Нагадування увімкнено: {supplier}.",
    "reminder_turned_off": "Нагадування вимкнено: {supplier}.",
    # reminders and other messages the bot sends on its own
    "reminder_opens": "🔔 {supplier}: прийом показників за {period} відкрито, до {deadline} включно. "
                      "Ще не передано:\n{accounts}{discount}",
    "reminder_closing": lambda p: (
        f"🔔 {p['supplier']}: до кінця прийому показників за {p['period']} — "
        f"{plural(p['days'], 'день', 'дні', 'днів')} (останній день {p['deadline']}). "
        f"Ще не передано:\n{p['accounts']}\nБез показників постачальник нарахує за середнім або за нормою."
        f"{p['discount']}"),
    "reminder_last_day": "⏰ {supplier}: сьогодні, {deadline}, останній день прийому показників за {period}. "
                         "Ще не передано:\n{accounts}\nБез показників постачальник нарахує за середнім або за нормою."
                         "{discount}",
    "reminder_discount": "\n💡 Оплатіть рахунок до {deadline} — постачальник дає знижку {percent} %.",
    "reminder_account": "{account} ({place}):\n{meters}",
    "btn_submit_account": "📝 Передати показники {number} · {place}",
    "btn_submit_kept": "📝 Передати показники {number}",
    "handover_receipt": "✅ Збережені показники передано постачальнику ({account}, період {period}). "
                        "Номер квитанції: {reference}.",
    "kept_expired": "⌛ Збережені показники не передано ({account}, період {period}): прийом закрився {closes} "
                    "раніше, ніж я встиг їх передати. Постачальник їх не отримав. {then}",
    "kept_expired_open_now": "Зараз триває прийом показників за {period}, до {closes}: передайте показники, "
                             "будь ласка, ще раз.",
    "kept_expired_opens": "Наступний прийом — з {opens} до {closes} (період {period}): передайте показники тоді "
                          "або вже зараз збережіть їх для передачі.",
    # paying: the NBU payment QR code
    "payment_qr_caption": "Відскануйте QR-код у застосунку банку — реквізити й сума заповняться самі. "
                          "Бот не бачить даних вашої картки.",
    "payment_qr_link": "Якщо ви читаєте це з телефона, відкрийте посилання — застосунок банку заповнить "
                       "платіж:\n{link}",
    "console_qr_saved": "₴ QR-код для оплати збережено у файл: {path}",
    "verification_warning": "⚠️ Строк повірки лічильника {meter} ({account}) спливає {due}. Після цієї дати "
                            "постачальник не прийматиме його показники — подбайте про повірку заздалегідь.",
}
