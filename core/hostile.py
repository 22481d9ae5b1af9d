"""Input no view can use, refused with one clear 400 before any view runs.

Python accepts some text that nothing downstream can store or encode: a NUL byte
(PostgreSQL refuses it in text and in JSON, the file system in paths), a lone UTF-16
surrogate from a JSON escape such as "\\ud800" (it cannot be encoded as UTF-8), and
JSON nested deeper than any caller means (Python's parser raises RecursionError, and
every walk of it later would too). Each used to reach a view and end as a 500 or a
503; here a request carrying any of them, in its path, its query or a JSON body, is
answered 400 and changes nothing.
"""

import json

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views.defaults import bad_request

MAX_JSON_DEPTH = 32
JSON_METHODS = frozenset({"POST", "PUT", "PATCH"})


class HostileInput(ValueError):
    pass


def check_text(value, where):
    if "\x00" in value:
        raise HostileInput(f"The {where} contains a NUL character.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise HostileInput(
            f"The {where} contains a lone surrogate, which is not text."
        ) from None


def check_json(body):
    """Refuse a JSON body whose values no view could store; a body that is not JSON
    at all is left to the view, which says so in its own words."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise HostileInput(
            f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels."
        ) from None
    except (ValueError, UnicodeDecodeError):
        return
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            check_text(value, "JSON")
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise HostileInput(
                    f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels."
                )
            if isinstance(value, dict):
                for key, item in value.items():
                    check_text(key, "JSON")
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def check_request(request):
    check_text(request.path, "address")
    for key, values in request.GET.lists():
        check_text(key, "query")
        for value in values:
            check_text(value, "query")
    if request.method in JSON_METHODS and request.content_type == "application/json":
        try:
            body = request.body
        except RequestDataTooBig:
            return  # the view answers that in its own words
        check_json(body)


class HostileInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            check_request(request)
        except HostileInput as problem:
            if request.content_type == "application/json" or "json" in (
                request.headers.get("Accept", "")
            ):
                return JsonResponse({"errors": {"request": [str(problem)]}}, status=400)
            return bad_request(request, problem)
        return self.get_response(request)
