"""A meter's photo in the conversation: kept as evidence, suggested from when read, never kept untapped.

The photo reaches the step as the pipeline hands it over (kept under a name in a real photo store, or with
its problem); what recognition read is given as it would be (core/meter_photo.py's Seen).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.domain import ReadingKind, ReadingStatus
from core.events import PhotoProblem, PhotoReceived
from core.meter_photo import Seen
from core.service import ConversationService
from bot.dialogs.table import CONVERSATION
from bot.photos.store import LocalPhotoStore
from tests.conftest import KYIV
from tests.fakes import FakeUnitOfWork
from tests.talk import Talk
from tests.test_conversation import link, submit_start


@pytest.fixture
def photos(tmp_path) -> LocalPhotoStore:
    return LocalPhotoStore(tmp_path / "photos")


@pytest.fixture
def talk(store, clock, suppliers, photos) -> Talk:
    return Talk(ConversationService(lambda: FakeUnitOfWork(store), CONVERSATION, suppliers, clock, KYIV,
                                    photos=photos))


def drum(text: str, confidence: float = 0.97) -> tuple[Seen, ...]:
    """A meter's drums as recognition reads them: one long box of digits across the face."""
    return (Seen(text, confidence, (120.0, 200.0, 520.0, 260.0)),)


async def kept(photos: LocalPhotoStore) -> list[str]:
    return [name async for name, _ in photos.names()]


async def test_a_photo_at_the_prompt_is_kept_with_the_value_typed_when_nothing_reads_it(
        talk, heat_account, store, photos):
    await link(talk)
    await submit_start(talk)
    name = await photos.save(b"jpeg")
    await talk.photo(name)  # recognition is not installed: seen is None
    assert talk.keys == ["photo_kept_type_it"]
    assert "введіть показник" in talk.text()
    await talk.say("1523,5")  # still at the meter's prompt
    assert talk.keys == ["meter_prompt"]
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    heating = store.submissions[-1].readings[0]
    assert (heating.value, heating.evidence) == (Decimal("1523.5"), name)
    assert store.submissions[-1].readings[1].evidence is None  # the photo was of the first meter only
    assert store.photos[name]["resident_id"] == store.residents[talk.chat]["id"]
    assert await kept(photos) == [name]


async def test_a_value_read_off_the_photo_is_suggested_and_kept_only_after_the_tap(talk, heat_account, store, photos):
    await link(talk)
    await submit_start(talk)
    name = await photos.save(b"jpeg")
    await talk.photo(name, seen=drum("01523500"))
    assert talk.keys == ["photo_suggest"]
    assert "01523,500 Гкал" in talk.text() and "HT-1" in talk.text()
    assert "01523.500 Gcal" in talk.text("en")
    assert store.submissions == []  # nothing kept before the resident says it is right
    await talk.press("btn_photo_right")
    assert talk.keys == ["meter_prompt"]  # on to the hot water meter
    await talk.press("btn_unchanged")
    assert "1523,5 Гкал" in talk.text()
    await talk.press("btn_confirm")
    heating = store.submissions[-1].readings[0]
    assert (heating.value, heating.kind, heating.evidence) == (Decimal("1523.5"), ReadingKind.TYPED, name)


@pytest.mark.parametrize("button_first", [True, False], ids=["type-it-button", "typed-at-once"])
async def test_the_resident_may_type_another_value_over_a_suggestion(talk, heat_account, store, photos, button_first):
    await link(talk)
    await submit_start(talk)
    await talk.photo(await photos.save(b"jpeg"), seen=drum("01523500"))
    if button_first:
        await talk.press("btn_type_myself")
        assert talk.keys == ["meter_prompt"]
    await talk.say("1523,7")
    assert talk.keys == ["meter_prompt"]  # on to the hot water meter
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    assert store.submissions[-1].readings[0].value == Decimal("1523.7")


@pytest.mark.parametrize("seen", [
    drum("0152350"),  # seven digits: not this meter's five and three
    drum("01519000"),  # below the previous reading (1520,125): not suggested unless the resident says replaced
    drum("01600000"),  # 80 Gcal in a month: beyond what the service can use
    (),  # nothing readable on the photo
], ids=["digit-count", "below-previous", "beyond-plausible", "nothing"])
async def test_a_reading_that_does_not_fit_the_meter_is_not_suggested(talk, heat_account, store, photos, seen):
    await link(talk)
    await submit_start(talk)
    await talk.photo(await photos.save(b"jpeg"), seen=seen)
    assert talk.keys == ["photo_unread"]
    assert "не вдалося" in talk.text()
    await talk.say("1523,5")
    assert talk.keys == ["meter_prompt"]


@pytest.mark.parametrize("problem", list(PhotoProblem))
async def test_a_photo_that_could_not_be_kept_is_explained_and_the_resident_stays(talk, heat_account, store, problem):
    await link(talk)
    await submit_start(talk)
    await talk.photo(None, problem=problem)
    assert talk.keys == [f"photo_{problem.value}", "meter_prompt"]
    assert store.photos == {}
    await talk.say("1523,5")
    assert talk.keys == ["meter_prompt"]  # the same step took the value


async def test_a_second_photo_replaces_the_first_whose_file_goes(talk, heat_account, store, photos):
    await link(talk)
    await submit_start(talk)
    first, second = await photos.save(b"first"), await photos.save(b"second")
    await talk.photo(first)
    await talk.photo(second)
    assert await kept(photos) == [second]
    assert list(store.photos) == [second]
    await talk.say("1523,5")
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    assert store.submissions[-1].readings[0].evidence == second


async def test_cancelling_lets_the_draft_photos_go(talk, heat_account, store, photos):
    await link(talk)
    await submit_start(talk)
    await talk.photo(await photos.save(b"jpeg"))
    await talk.press("btn_cancel")
    assert talk.keys[0] == "submission_cancelled"
    assert await kept(photos) == [] and store.photos == {}


@pytest.mark.parametrize("leave", ["/menu", "/cancel", "/start"])
async def test_leaving_a_submission_unconfirmed_lets_its_photos_go(talk, heat_account, store, photos, leave):
    await link(talk)
    await submit_start(talk)
    await talk.photo(await photos.save(b"first meter"))
    await talk.say("1523,5")
    await talk.photo(await photos.save(b"second meter"))
    await talk.say(leave)
    assert await kept(photos) == [] and store.photos == {}


async def test_a_first_message_that_is_a_photo_is_greeted_and_not_kept(talk, store, photos):
    await talk.photo(await photos.save(b"jpeg"))
    assert talk.keys[0] == "welcome"
    assert await kept(photos) == [] and store.photos == {}


async def test_a_photo_handled_before_and_fetched_again_is_not_kept_twice(talk, heat_account, store, photos):
    await link(talk)
    await submit_start(talk)
    first = await photos.save(b"jpeg")
    await talk.event(PhotoReceived(talk.chat, "ref", photo=first), inbound_id="update-7")
    again = await photos.save(b"jpeg")  # the same update, redelivered and fetched again
    await talk.event(PhotoReceived(talk.chat, "ref", photo=again), inbound_id="update-7")
    assert await kept(photos) == [first] and list(store.photos) == [first]


async def test_a_photo_where_no_photo_is_asked_for_is_not_kept(talk, heat_account, store, photos):
    await link(talk)
    await talk.start()
    await talk.photo(await photos.save(b"jpeg"))
    assert talk.keys[0] == "photo_elsewhere"
    assert await kept(photos) == [] and store.photos == {}


async def test_a_photo_at_are_you_sure_confirms_the_value_as_its_evidence(talk, heat_account, store, photos):
    await link(talk)
    await submit_start(talk)
    await talk.say("1600")
    assert talk.keys == ["impossible_consumption"]
    name = await photos.save(b"jpeg")
    await talk.photo(name, seen=drum("01600000"))  # what it reads does not matter here: the value is typed
    assert talk.keys == ["photo_attached", "meter_prompt"]
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    assert (store.submissions[-1].readings[0].value, store.submissions[-1].readings[0].evidence) == (
        Decimal("1600"), name)


async def test_are_you_sure_asks_for_a_photo_only_when_none_was_sent_and_keeps_the_one_that_was(
        talk, heat_account, store, photos):
    await link(talk)
    await submit_start(talk)
    await talk.say("1600")
    assert talk.reply("impossible_consumption").text.params["photo_note"].key == "unusual_photo_invited"
    assert "Можете надіслати фото лічильника" in talk.text()
    await talk.press("btn_type_again")
    name = await photos.save(b"jpeg")
    await talk.photo(name)  # at the meter's prompt, not read: the resident types the value
    await talk.say("1600")
    assert talk.reply("impossible_consumption").text.params["photo_note"].key == "unusual_photo_attached"
    assert "надіслати фото" not in talk.text() and "Фото, яке ви надіслали, додам" in talk.text()
    await talk.press("btn_value_correct")
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    assert store.submissions[-1].readings[0].evidence == name


async def test_a_broken_photo_at_are_you_sure_keeps_the_question(talk, heat_account, store):
    await link(talk)
    await submit_start(talk)
    await talk.say("1600")
    await talk.photo(None, problem=PhotoProblem.NOT_IMAGE)
    assert talk.keys == ["photo_not_image", "impossible_consumption"]
    await talk.press("btn_value_correct")
    assert talk.keys == ["meter_prompt"]


async def test_forget_me_deletes_photos_not_handed_in_and_keeps_those_that_were(
        talk, heat_account, store, photos, clock):
    await link(talk)
    await submit_start(talk)
    handed_in = await photos.save(b"handed in")
    await talk.photo(handed_in)
    await talk.say("1523,5")
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    await submit_start(talk)  # a new draft, with a photo of its own
    draft = await photos.save(b"draft")
    await talk.photo(draft)
    await talk.event(PhotoReceived(talk.chat, "ref"))  # (an unfetched photo changes nothing)
    await talk.start()
    await talk.press("btn_help")
    await talk.press("btn_forget")
    await talk.press("btn_forget_yes")
    assert talk.keys == ["forgotten"]
    assert await kept(photos) == [handed_in]
    assert store.photos == {handed_in: {"resident_id": None, "received_at": store.photos[handed_in]["received_at"]}}
    assert store.submissions[-1].readings[0].evidence == handed_in


async def test_forget_me_deletes_the_photo_of_a_reading_kept_for_a_later_window(talk, store, photos, clock):
    store.add_account("gas", "3000000001", meters=[
        {"serial": "G", "service": "gas", "last": "4410", "on": date(2026, 11, 1)}])
    await link(talk, supplier="gas", number="3000000001", proof="100")
    await submit_start(talk)
    await talk.press("btn_keep_for_later")  # the gas window opens on the 28th: readings are kept till then
    name = await photos.save(b"jpeg")
    await talk.photo(name)
    await talk.say("4450")
    await talk.press("btn_confirm")
    assert store.readings[-1].status is ReadingStatus.PENDING
    await talk.start()
    await talk.press("btn_help")
    await talk.press("btn_forget")
    await talk.press("btn_forget_yes")
    assert await kept(photos) == [] and store.photos == {}
    assert store.submissions[-1].readings[0].evidence is None


async def test_the_stored_moment_of_a_photo_is_utc(talk, heat_account, store, photos, clock):
    await link(talk)
    await submit_start(talk)
    await talk.photo(await photos.save(b"jpeg"))
    (record,) = store.photos.values()
    assert record["received_at"] == clock.now and record["received_at"].utcoffset() == timedelta(0)
