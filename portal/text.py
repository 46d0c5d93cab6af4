"""Names as people type them, cleaned one way for forms, the Django admin and imports.

A name (a teacher's, a unit's, a course's, a programme's, a provider's...) is shown on
pages, in exports and on certificates. Control characters and Unicode format characters
(bidi overrides such as U+202E that turn "lanigiro" into "original" on screen, zero-width
spaces, soft hyphens, byte-order marks) have no place in one: :func:`clean_name` drops
them, turns every run of white space (tabs and line breaks included) into one space,
folds full-width letters and digits (NFKC) and strips the ends.

:class:`NameField` is a ``CharField`` whose form field and every ``save()`` clean the value
this way; importers clean their name columns with :func:`clean_name` in their parsers.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import forms
from django.db import models

# Cc (controls, C0 and C1), Cf (format: bidi embeddings, overrides and isolates, LRM/RLM, ZWSP,
# ZWNJ/ZWJ, word joiner, soft hyphen, BOM...), line and paragraph separators, private use,
# unpaired surrogates and noncharacters.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ue000-\uf8ff\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_SPACES = re.compile(r"[\s\u3000]+")


def drop_unsafe(text: str) -> str:
    """``text`` without control or format characters (line breaks and tabs stay): for free text."""
    return _UNSAFE.sub("", text)


def clean_name(value: Any) -> str:
    """``value`` as text without control or format characters, white space collapsed, ends stripped."""
    text = value if isinstance(value, str) else str(value)
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = _UNSAFE.sub("", text)
    if not text.isprintable() or "  " in text:
        text = _SPACES.sub(" ", text)
    return text.strip()


class NameFormField(forms.CharField):
    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return clean_name(value) if isinstance(value, str) else value


class NameField(models.CharField):
    """A ``CharField`` for a name: cleaned by :func:`clean_name` in forms (the admin's too) and on save.

    The column is a plain varchar: the field deconstructs as ``CharField``, so migrations see no change.
    """

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": NameFormField, **kwargs})

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if isinstance(value, str):
            value = clean_name(value)
            setattr(model_instance, self.attname, value)
        return value

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs
