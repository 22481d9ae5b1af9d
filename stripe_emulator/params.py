"""Request parameters: Stripe's form encoding decoded, then checked against a schema.

stripe-python sends ``line_items[0][price_data][currency]=usd``-style keys (query
string for GET, form body for POST); every value arrives as a string. The schema
classes turn them into Python values and name the offending ``param`` on errors,
the way Stripe does.
"""

import re
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from .errors import InvalidRequest, missing_parameter, unknown_parameter

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode(encoded):
    """``a[b][0]=x&a[b][1]=y`` -> ``{"a": {"b": ["x", "y"]}}``."""
    if isinstance(encoded, bytes):
        encoded = encoded.decode("utf-8")
    root = {}
    for key, value in parse_qsl(encoded or "", keep_blank_values=True):
        match = _KEY.match(key)
        path = [match[1], *re.findall(r"\[([^\[\]]*)\]", match[2])] if match else [key]
        node = root
        for depth, token in enumerate(path):
            name = _param_name(path[: depth + 1])
            if token == "":
                token = str(len(node))
            if depth == len(path) - 1:
                if isinstance(node.get(token), dict):
                    raise InvalidRequest(f"Invalid hash: {name}", param=name)
                node[token] = value
            else:
                child = node.setdefault(token, {})
                if not isinstance(child, dict):
                    raise InvalidRequest(f"Invalid hash: {name}", param=name)
                node = child
    return _listify(root, "")


def _param_name(path):
    return path[0] + "".join(f"[{token}]" for token in path[1:])


def _listify(node, name):
    if not isinstance(node, dict):
        return node
    items = {
        key: _listify(value, f"{name}[{key}]" if name else key)
        for key, value in node.items()
    }
    if items and all(key.isdigit() for key in items):
        indexes = sorted(int(key) for key in items)
        if indexes != list(range(len(indexes))):
            raise InvalidRequest(f"Invalid array: {name}", param=name)
        return [items[str(index)] for index in indexes]
    return items


def one_of(choices):
    """``["a", "b", "c"]`` -> ``"a, b, or c"``, as Stripe lists allowed values."""
    choices = list(choices)
    if len(choices) < 3:
        return " or ".join(choices)
    return ", ".join(choices[:-1]) + f", or {choices[-1]}"


def _empty_string(name):
    return InvalidRequest(
        f"You passed an empty string for '{name}'. We assume empty values are an "
        f"attempt to unset a parameter; however '{name}' cannot be unset. You should "
        f"remove '{name}' from your request or supply a non-empty value.",
        param=name,
    )


class Param:
    def __init__(self, *, required=False):
        self.required = required

    def clean(self, value, name):
        if value == "":
            raise _empty_string(name)
        if isinstance(value, (dict, list)):
            raise InvalidRequest(self.invalid_message(value, name), param=name)
        return self.to_python(value, name)

    def to_python(self, value, name):
        return value

    def invalid_message(self, value, name):
        return f"Invalid {type(self).__name__.lower()}: {name}"


class String(Param):
    def __init__(self, *, max_length=5000, choices=None, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.choices = choices

    def to_python(self, value, name):
        if self.choices is not None and value not in self.choices:
            leaf = name.rsplit("[", 1)[-1].rstrip("]")
            raise InvalidRequest(
                f"Invalid {leaf}: must be one of {one_of(self.choices)}", param=name
            )
        if len(value) > self.max_length:
            raise InvalidRequest(
                f"Invalid string: {value[:20]}...; must be at most "
                f"{self.max_length} characters",
                param=name,
            )
        return value

    def invalid_message(self, value, name):
        return f"Invalid string: {name}"


class Url(String):
    def to_python(self, value, name):
        value = super().to_python(value, name)
        if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE):
            raise InvalidRequest("Not a valid URL", param=name, code="url_invalid")
        return value


class Email(String):
    def to_python(self, value, name):
        value = super().to_python(value, name)
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
            raise InvalidRequest(
                f"Invalid email address: {value}", param=name, code="email_invalid"
            )
        return value


class Integer(Param):
    def __init__(self, *, min_value=None, max_value=None, **kwargs):
        super().__init__(**kwargs)
        self.min_value = min_value
        self.max_value = max_value

    def to_python(self, value, name):
        if not re.fullmatch(r"-?\d+", str(value)):
            raise InvalidRequest(f"Invalid integer: {value}", param=name)
        number = int(value)
        if self.min_value is not None and number < self.min_value:
            kind = {0: "non-negative", 1: "positive"}.get(self.min_value)
            raise InvalidRequest(
                f"Invalid {kind} integer"
                if kind
                else f"This value must be greater than or equal to {self.min_value}.",
                param=name,
            )
        if self.max_value is not None and number > self.max_value:
            raise InvalidRequest(
                f"This value must be less than or equal to {self.max_value}.",
                param=name,
            )
        return number

    def invalid_message(self, value, name):
        return f"Invalid integer: {name}"


class Number(Param):
    """A decimal such as ``percent_off=12.5``."""

    def to_python(self, value, name):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise InvalidRequest(f"Invalid decimal: {value}", param=name)
        return float(number)


class Boolean(Param):
    def to_python(self, value, name):
        if value not in ("true", "false"):
            raise InvalidRequest(f"Invalid boolean: {value}", param=name)
        return value == "true"


class Metadata(Param):
    """Up to 50 string keys of 40 characters and values of 500; "" drops a key."""

    def clean(self, value, name):
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise InvalidRequest(
                "Invalid metadata: metadata must be a set of key-value pairs",
                param=name,
            )
        metadata = {}
        for key, item in value.items():
            param = f"{name}[{key}]"
            if isinstance(item, (dict, list)):
                raise InvalidRequest(
                    f"Invalid value type: {param} must be a string", param=param
                )
            if len(key) > 40:
                raise InvalidRequest(
                    "Metadata keys can have up to 40 characters, but you passed in "
                    f"a key that is {len(key)} characters: '{key}'",
                    param=param,
                )
            if len(item) > 500:
                raise InvalidRequest(
                    "Metadata values can have up to 500 characters, but you passed "
                    f"in a value that is {len(item)} characters: '{item[:50]}...'",
                    param=param,
                )
            if item != "":
                metadata[key] = item
        if len(metadata) > 50:
            raise InvalidRequest(
                "Metadata can have up to 50 keys, but you passed in "
                f"{len(metadata)} keys.",
                param=name,
            )
        return metadata


class Hash(Param):
    def __init__(self, fields, **kwargs):
        super().__init__(**kwargs)
        self.fields = fields

    def clean(self, value, name=""):
        if value == "" and name:
            raise _empty_string(name)
        if not isinstance(value, dict):
            raise InvalidRequest(f"Invalid object: {name}", param=name)
        path = (lambda key: f"{name}[{key}]") if name else (lambda key: key)
        for key in value:
            if key not in self.fields:
                raise unknown_parameter(path(key))
        cleaned = {}
        for key, field in self.fields.items():
            if key not in value:
                if field.required:
                    raise missing_parameter(path(key))
                continue
            cleaned[key] = field.clean(value[key], path(key))
        return cleaned


class Array(Param):
    def __init__(self, item, *, max_items=None, **kwargs):
        super().__init__(**kwargs)
        self.item = item
        self.max_items = max_items

    def clean(self, value, name):
        if value == "":
            raise _empty_string(name)
        if not isinstance(value, list):
            raise InvalidRequest(f"Invalid array: {name}", param=name)
        if self.max_items is not None and len(value) > self.max_items:
            raise InvalidRequest(
                f"Invalid array: {name} can have at most {self.max_items} items",
                param=name,
            )
        return [self.item.clean(item, f"{name}[{i}]") for i, item in enumerate(value)]


EXPAND = Array(String())
