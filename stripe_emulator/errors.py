"""Error answers of the emulated API, in Stripe's JSON error shape.

stripe-python picks its exception class from the status and ``error.type``:
https://docs.stripe.com/api/errors
"""


class ErrorResponse(Exception):
    status = 400
    type = "invalid_request_error"

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
