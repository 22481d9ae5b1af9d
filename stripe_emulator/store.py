"""Persistence of emulated Stripe objects, and Stripe-style ids and timestamps."""

import secrets
import string
import time

from .models import EmulatedObject

_ALPHABET = string.ascii_letters + string.digits


def random_string(length):
    """``length`` letters and digits from one read of the OS's random source (a
    draw per character read it once each): a number with 64 bits more than the
    string holds, written in base 62, so no character is measurably likelier."""
    number = int.from_bytes(secrets.token_bytes(length + 8), "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return "".join(chars)


def new_id(prefix, length=24):
    """``pi_3PgafyB7WZ01zgkWSjxsAJo3``-style ids."""
    return f"{prefix}_{random_string(length)}"


def now():
    return int(time.time())


def load(object_type, object_id, *, for_update=False):
    """The object's data, or None. ``for_update`` locks the row (inside atomic)."""
    rows = EmulatedObject.objects.filter(pk=object_id, type=object_type)
    if for_update:
        rows = rows.select_for_update()
    row = rows.first()
    return row.data if row is not None else None


def save(data, *, parent="", position=0, internal=None):
    fields = {"type": data["object"], "data": data}
    if internal is not None:
        fields["internal"] = internal
    EmulatedObject.objects.update_or_create(
        pk=data["id"],
        defaults=fields,
        create_defaults={**fields, "parent": parent, "position": position},
    )
    return data


def create(*records):
    """New objects, in one INSERT: each record is ``(data, parent, position,
    internal)``, as ``save`` takes them."""
    EmulatedObject.objects.bulk_create(
        EmulatedObject(
            pk=data["id"],
            type=data["object"],
            data=data,
            parent=parent,
            position=position,
            internal=internal or {},
        )
        for data, parent, position, internal in records
    )


def children(parent, object_type):
    rows = EmulatedObject.objects.filter(parent=parent, type=object_type)
    return [row.data for row in rows.order_by("position")]


def internal(object_id):
    row = EmulatedObject.objects.filter(pk=object_id).only("internal").first()
    return row.internal if row is not None else {}
