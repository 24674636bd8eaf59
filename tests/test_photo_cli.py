"""A meter photo from the console to the operator: kept, exported by name, fetched, purged (run_bot.py)."""

from __future__ import annotations

import csv
import io
import random
import re
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from tests.test_cli_e2e import run

LINKED_AND_SUBMITTING = [
    "2", "1", "Тепло та гаряча вода", "100 000 000 000 001", "1234,56",  # my accounts, link, the heat account
    "1",  # submit readings
]
NAME = re.compile(r"[0-9a-f]{32}\.jpg")


def meter_picture(path: Path, size: tuple[int, int] = (320, 200)) -> Path:
    Image.new("RGB", size, (30, 30, 30)).save(path)
    return path


def conversation(*lines: str) -> str:
    return "\n".join([*LINKED_AND_SUBMITTING, *lines]) + "\n"


def export(env) -> list[dict[str, str]]:
    result = run(env, "readings", "export", "--supplier", "heat", "--period", "2026-11")
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_a_photo_sent_in_the_console_is_kept_exported_by_name_and_fetched_by_the_operator(env, tmp_path):
    env = {**env, "KOMUNALKA_OCR": "false"}  # evidence only: what recognition suggests is tested beside it
    picture = meter_picture(tmp_path / "my meter.png")
    (tmp_path / "notes.txt").write_text("not a picture")
    result = run(env, "console", "--demo", cwd=tmp_path, stdin=conversation(
        f"/фото {tmp_path / 'missing.jpg'}",  # no such file
        "/photo",  # no path
        f"/фото {tmp_path / 'notes.txt'}",  # not a picture
        f'/photo "{picture}"',  # pasted with quotes, as a file manager copies a path with a space
        "/photo " + str(picture).replace(" ", "\\ "),  # as a terminal pastes a file dragged onto it
        "1525,5", "Без змін", "#1", "✅ Підтвердити"))
    assert result.returncode == 0, result.stderr
    assert f"Файлу {tmp_path / 'missing.jpg'} немає" in result.stdout
    assert "Щоб надіслати фото лічильника, введіть /photo і шлях до файлу" in result.stdout
    assert "Це не схоже на фото" in result.stdout
    assert result.stdout.count("Фото додам до показника") == 2  # the second replaces the first
    assert "Номер квитанції: KM-2611-" in result.stdout
    assert "Traceback" not in result.stderr
    rows = export(env)
    name = rows[0]["photo"]
    assert NAME.fullmatch(name) and [r["photo"] for r in rows[1:]] == ["", ""]
    assert (tmp_path / "photos" / name[:2] / name).is_file()  # beside the database by default

    out = tmp_path / "fetched.jpg"
    fetched = run(env, "photos", "get", name, "--out", str(out))
    assert fetched.returncode == 0, fetched.stderr
    with Image.open(out) as image:
        assert (image.format, image.size) == ("JPEG", (320, 200))


def test_an_unknown_or_forged_name_is_refused_in_one_line(env, tmp_path):
    # (every malformed name is refused before the disk is touched: tests/test_photo_store.py)
    result = run(env, "photos", "get", "../../etc/passwd", "--out", str(tmp_path / "x.jpg"))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "x.jpg").exists()


def test_purge_removes_photos_past_the_retention_and_the_export_no_longer_names_them(env, tmp_path):
    env = {**env, "KOMUNALKA_OCR": "false"}
    picture = meter_picture(tmp_path / "meter.jpg")
    result = run(env, "console", "--demo", cwd=tmp_path, stdin=conversation(
        f"/photo {picture}", "1525,5", "Без змін", "#1", "✅ Підтвердити"))
    assert result.returncode == 0, result.stderr
    name = export(env)[0]["photo"]

    # (a photo inside the retention stays: tests/test_photo_store.py)
    dry = run({**env, "KOMUNALKA_CLOCK": "2029-11-21T12:00:00+02:00"}, "photos", "purge", "--dry-run")
    assert "would remove: 1 past the retention" in dry.stdout
    assert export(env)[0]["photo"] == name

    past = run({**env, "KOMUNALKA_CLOCK": "2029-11-21T12:00:00+02:00"}, "photos", "purge")
    assert "removed: 1 past the retention" in past.stdout
    assert run(env, "photos", "get", name, "--out", str(tmp_path / "gone.jpg")).returncode == 1
    assert not (tmp_path / "photos" / name[:2] / name).exists()
    rows = export(env)
    assert rows[0]["photo"] == "" and rows[0]["reading"] == "1525.5"  # the reading stays, without its photo


def test_with_recognition_the_console_suggests_the_value_and_keeps_it_only_after_the_tap(env, tmp_path):
    pytest.importorskip("rapidocr")  # the [ocr] extra; CI installs it
    from tests.meter_faces import render_meter

    face = tmp_path / "heating.jpg"
    face.write_bytes(render_meter(Decimal("1523.5"), 5, 3, random.Random(3)))  # the heating meter, 5+3 drums
    env = {**env, "KOMUNALKA_OCR_TIME_LIMIT_SECONDS": "60"}  # the first photo starts the worker: models load
    result = run(env, "console", "--demo", cwd=tmp_path, stdin=conversation(f"/photo {face}"))
    assert result.returncode == 0, result.stderr
    assert "з фото я прочитав 01523,500 Гкал. Це правильно?" in result.stdout
    assert export(env) == []  # nothing kept before the resident's tap

    result = run(env, "console", cwd=tmp_path, stdin="✅ Так, правильно\nБез змін\n#1\n✅ Підтвердити\n")
    assert result.returncode == 0, result.stderr
    assert "Номер квитанції: KM-2611-" in result.stdout
    row = export(env)[0]
    assert (row["meter"], row["reading"], row["kind"]) == ("HT-0001", "1523.5", "reading")
    assert NAME.fullmatch(row["photo"])
