"""Errors shared by every layer, and the one formatter of validation errors.

Every error a user can cause is an ``InputError`` whose message names what was wrong and what is
allowed, in one line, e.g. ``tempo must be 20..300 BPM, got 400``.
"""

import difflib
import re
import types
import typing

if typing.TYPE_CHECKING:  # pydantic loads only where something is validated
    from pydantic import BaseModel, ValidationError


class JamdError(Exception):
    """Base of every error jamd raises on purpose."""


class InputError(JamdError, ValueError):
    """Input from a user, a file or a peer that jamd cannot accept; the message says why."""


def validation_messages(
    error: "ValidationError", model: "type[BaseModel]", *, strip_prefix: int = 0
) -> list[str]:
    """Every error of a pydantic validation as ``a.b.c: message, got X``.

    Unknown keys get a did-you-mean from the fields allowed at that place. ``strip_prefix`` drops
    leading location parts that belong to a wrapper model rather than to the user's file.
    """
    messages = []
    for item in error.errors(include_url=False):
        shown, allowed = _walk(model, item["loc"])
        shown = shown[strip_prefix:]
        where = ".".join(str(part) for part in shown) or "(top level)"
        if shown and shown[-1] == "[key]":  # a mapping's key that is not one of its allowed names
            names = re.findall(r"'([^']*)'", str(item.get("ctx", {}).get("expected", "")))
            where = ".".join(str(part) for part in shown[:-1])
            messages.append(f"{where}: {_unknown_key(str(item['input']), names)}")
        elif item["type"] == "extra_forbidden":
            unknown = str(shown[-1]) if shown else ""
            messages.append(f"{where}: {_unknown_key(unknown, allowed)}")
        elif item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            context = item.get("ctx", {})
            key = str(context.get("discriminator", "kind")).strip("'").removesuffix("()")
            tags = [_tag_of(m) for m in _models_in(_annotation_at(model, item["loc"]))]
            expected = ", ".join(str(tag) for tag in tags if tag is not None)
            got = f", got {context['tag']!r}" if "tag" in context else " (missing)"
            messages.append(f"{'.'.join([*map(str, shown), key])}: must be one of {expected}{got}")
        elif item["type"] == "missing":
            messages.append(f"{where}: required")
        elif item["type"] in _BOUNDS:
            phrase, key = _BOUNDS[item["type"]]
            limit = item.get("ctx", {}).get(key)
            shown_limit = f"{limit:g}" if isinstance(limit, int | float) else str(limit)
            messages.append(f"{where}: must be {phrase} {shown_limit}, got {item['input']!r}")
        else:
            messages.append(f"{where}: {_lower_first(item['msg'])}, got {item['input']!r}")
    return messages


_BOUNDS = {
    "greater_than_equal": ("at least", "ge"),
    "less_than_equal": ("at most", "le"),
    "greater_than": ("more than", "gt"),
    "less_than": ("less than", "lt"),
}


def _unknown_key(unknown: str, allowed: list[str]) -> str:
    hint = difflib.get_close_matches(unknown, allowed, n=1)
    suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
    choices = f" (allowed: {', '.join(sorted(allowed))})" if allowed else ""
    return f"unknown key{suggestion}{choices}"


def _walk(
    model: "type[BaseModel] | None", loc: tuple[int | str, ...]
) -> tuple[list[object], list[str]]:
    """Follow ``loc`` through the models; drop union tags; return the path and the allowed keys."""
    shown: list[object] = []
    current: object = model
    allowed: list[str] = []
    for part in loc:
        candidates = _models_in(current)
        tagged = [c for c in candidates if _tag_of(c) == part]
        if tagged:  # a discriminated union's tag: not a key in the user's file
            current = tagged[0]
            continue
        shown.append(part)
        fields = next((c.model_fields for c in candidates if part in c.model_fields), None)
        allowed = sorted({name for c in candidates for name in c.model_fields})
        current = fields[str(part)].annotation if fields is not None else _item_type(current)
    return shown, allowed


def _annotation_at(model: "type[BaseModel]", loc: tuple[int | str, ...]) -> object:
    current: object = model
    for part in loc:
        tagged = [m for m in _models_in(current) if _tag_of(m) == part]
        if tagged:  # a union's tag, as in _walk
            current = tagged[0]
            continue
        fields = next((m.model_fields for m in _models_in(current) if part in m.model_fields), None)
        current = fields[str(part)].annotation if fields is not None else _item_type(current)
    return current


def _models_in(annotation: object) -> "list[type[BaseModel]]":
    from pydantic import BaseModel  # noqa: PLC0415

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def _item_type(annotation: object) -> object:
    """What a collection holds: a dict's values, a list's or a ``tuple[X, ...]``'s items."""
    args = [arg for arg in typing.get_args(annotation) if arg is not Ellipsis]
    return args[-1] if args else None


def _tag_of(model: "type[BaseModel]") -> object:
    field = model.model_fields.get("kind")
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return args[0] if typing.get_origin(field.annotation) is typing.Literal else None


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
