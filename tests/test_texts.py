"""Every text a resident may read exists in both languages, with the same parameters."""

from __future__ import annotations

import string

import pytest

from bot.dialogs import texts_en, texts_uk


def test_both_languages_have_the_same_keys():
    assert set(texts_uk.TEXTS) ^ set(texts_en.TEXTS) == set()


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(k for k, v in texts_uk.TEXTS.items()
                                        if isinstance(v, str) and isinstance(texts_en.TEXTS.get(k), str)))
def test_a_text_takes_the_same_parameters_in_both_languages(key):  # callables: test_texts_rendered.py
    ukrainian, english = texts_uk.TEXTS[key], texts_en.TEXTS[key]
    assert isinstance(ukrainian, str) and isinstance(english, str)
    assert _fields(ukrainian) == _fields(english)
