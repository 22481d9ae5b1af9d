"""Error answers of the emulated API, in Stripe's JSON error shape.

stripe-python picks its exception class from the status and ``error.type``:
https://docs.stripe.com/api/errors
"""


class ErrorResponse(Exception):
    status = 400
    type = "invalid_request_error"
    # An error the request ran into after validation, with what it changed kept (a
    # declined confirmation records the failed charge): committed, and stored
    # under the request's idempotency key so the same key replays it.
    commits = False

    def __init__(self, message, *, param=None, code=None, status=None, **extra):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.extra = extra
        if status is not None:
            self.status = status

    def body(self):
        error = {"message": self.message, "type": self.type}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code}"
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


class InvalidRequest(ErrorResponse):
    pass


class CardError(ErrorResponse):
    """A payment the card's issuer (or 3-D Secure) refused: HTTP 402, as Stripe
    answers a confirmation it declined."""

    status = 402
    type = "card_error"
    commits = True


class IdempotencyConflict(ErrorResponse):
    type = "idempotency_error"


class ServerFault(ErrorResponse):
    status = 500
    type = "api_error"


def resource_missing(kind, object_id, param="id"):
    return InvalidRequest(
        f"No such {kind}: '{object_id}'",
        param=param,
        code="resource_missing",
        status=404 if param == "id" else 400,
    )


def unknown_parameter(name):
    return InvalidRequest(f"Received unknown parameter: {name}", param=name)


def missing_parameter(name):
    return InvalidRequest(f"Missing required param: {name}.", param=name)
