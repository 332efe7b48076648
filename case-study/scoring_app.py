"""The case study's web service: POST /score runs the fraud-scoring engine on one transaction and
the customer's recent history; GET /health says what it runs on.

    uvicorn scoring_app:app   # from any directory; SCORING_ENGINE and SCORING_VALIDATION choose

A request is checked one of two interchangeable ways (SCORING_VALIDATION): by a pydantic model, or
by the same rules in plain Python (scoring_validation.py). Both answer a bad request alike: 415 for
a body that is not declared as JSON, 413 for one over MAX_BODY_BYTES, 422 for anything else, with a
`detail` that names the field and what it allows. Unknown fields are refused (422), not ignored: a
client that sends a field believes it counts, and the score would silently leave it out.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import ClientDisconnect

from baseline.fib_settings import SettingsError, read_turn_budget_seconds
from baseline.runtime import runtime_description
from baseline.turn_budget import TurnBudget
from scoring_settings import is_compiled, load_engine, read_engine, read_validation
from scoring_validation import (
    CHANNELS,
    CURRENCIES,
    MAX_AMOUNT,
    MAX_BODY_BYTES,
    MAX_HISTORY,
    MAX_TIMESTAMP,
    MIN_TIMESTAMP,
    NOT_JSON,
    RequestError,
    history_too_long,
    invalid_value,
    later_than_transaction,
    missing_field,
    unknown_field,
    validate_body,
)

# uvicorn's exit code for an app that cannot start: with --workers, a recent uvicorn's supervisor
# then stops instead of starting the worker again and again (PyPy's older uvicorn still restarts
# it: check first with `python -m scoring_settings`).
STARTUP_FAILURE = 3

Validator = Callable[[bytes], tuple[dict, list[dict]]]

# The engine's own tables, as the allowed values of a field.
Currency = Literal[CURRENCIES]  # type: ignore[valid-type]
Channel = Literal[CHANNELS]  # type: ignore[valid-type]


class Transaction(BaseModel):
    # strict: no "12.5" for a number, no true for 1, no 1.0 for a timestamp
    model_config = ConfigDict(strict=True, extra="forbid")

    amount: float = Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False)
    currency: Currency
    merchant_category: str = Field(pattern=r"^[0-9]{4}$")
    country: str = Field(pattern=r"^[A-Z]{2}$")
    timestamp: int = Field(ge=MIN_TIMESTAMP, le=MAX_TIMESTAMP)
    channel: Channel


class ScoreRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    transaction: Transaction
    history: list[Transaction] = Field(max_length=MAX_HISTORY)

    @model_validator(mode="after")
    def history_not_later(self) -> ScoreRequest:
        now = self.transaction.timestamp
        for index, entry in enumerate(self.history):
            if entry.timestamp > now:
                raise ValueError(later_than_transaction(index, entry.timestamp, now))
        return self


class RuleContribution(BaseModel):
    name: str
    contribution: float


class ScoreResponse(BaseModel):
    score: float
    decision: Literal["approve", "review", "decline"]
    rules: list[RuleContribution]
    engine: str


class HealthResponse(BaseModel):
    status: str
    runtime: str
    engine: str
    compiled: bool
    validation: str


class ErrorResponse(BaseModel):
    detail: str


# POST /score reads its body itself (see the route), so FastAPI cannot see what it accepts: the
# route declares it from ScoreRequest (both validations check the same rules), and the nested
# models it refers to join the published components. Without it, /openapi.json would tell clients,
# and schema-driven tests, that the route takes no body at all.
SCORE_REQUEST_SCHEMA = ScoreRequest.model_json_schema(ref_template="#/components/schemas/{model}")
REQUEST_COMPONENTS = {**SCORE_REQUEST_SCHEMA.pop("$defs"), "ScoreRequest": SCORE_REQUEST_SCHEMA}
SCORE_REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScoreRequest"}}},
}


def pydantic_detail(error: ValidationError) -> str:
    """The first of pydantic's errors, in the words scoring_validation.py uses for the same
    fault (pydantic reports the faults in the order the plain-Python check finds them)."""
    first = error.errors(include_url=False)[0]
    kind, location = first["type"], tuple(first["loc"])
    if kind == "json_invalid":
        return NOT_JSON
    if kind == "value_error":  # the model's own check, already in these words
        return str(first["ctx"]["error"])
    if kind == "missing":
        return missing_field(location)
    if kind == "extra_forbidden":
        return unknown_field(location[:-1], str(location[-1]))
    if kind == "too_long":
        return history_too_long(first["ctx"]["actual_length"])
    return invalid_value(location, first["input"])


def validate_with_pydantic(body: bytes) -> tuple[dict, list[dict]]:
    """The transaction and the history of a raw request body, checked by the pydantic model
    (pydantic-core parses the JSON itself); RequestError if not."""
    try:
        request = ScoreRequest.model_validate_json(body)
    except ValidationError as error:
        raise RequestError(pydantic_detail(error)) from None
    data = request.model_dump()
    return data["transaction"], data["history"]


VALIDATORS: dict[str, Validator] = {"pydantic": validate_with_pydantic, "python": validate_body}


def is_json(content_type: str) -> bool:
    """Whether a Content-Type header declares JSON (parameters such as charset aside)."""
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def declared_too_large(content_length: str | None, limit: int) -> bool:
    """Whether a Content-Length header already says the body is over `limit` bytes (its digits
    are counted first, so a header of thousands of digits costs nothing)."""
    if content_length is None or not (content_length.isascii() and content_length.isdigit()):
        return False  # no header (a chunked body), or one the HTTP server would have refused
    digits = content_length.lstrip("0")
    return len(digits) > len(str(limit)) or int(digits or "0") > limit


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None as soon as it is known to be over `limit` bytes: from its
    Content-Length, or for a chunked body by counting while reading and stopping at the limit."""
    if declared_too_large(request.headers.get("content-length"), limit):
        return None
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def refusal(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def create_app(engine: str | None = None, validation: str | None = None) -> FastAPI:
    """The scoring service with engine flavour `engine` (a key of ENGINE_FLAVOURS) and request
    validation `validation` ("pydantic" or "python"); each read from the environment when None,
    and checked alike when given. SettingsError if one is not allowed or the engine is not built."""
    flavour = read_engine(os.environ if engine is None else {"SCORING_ENGINE": engine})
    mode = read_validation(os.environ if validation is None else {"SCORING_VALIDATION": validation})
    engine_module = load_engine(flavour)
    score_transaction = engine_module.score
    validate = VALIDATORS[mode]
    # Each POST /score runs to its end without yielding: under hundreds of connections the turn
    # budget (TURN_BUDGET_SECONDS) keeps a turn of the event loop short, so /health answers soon.
    budget = TurnBudget(read_turn_budget_seconds())
    health_body = HealthResponse(
        status="healthy",
        runtime=runtime_description(),
        engine=flavour,
        compiled=is_compiled(engine_module),
        validation=mode,
    )

    app = FastAPI(
        title=f"Fraud scoring ({flavour} engine, {mode} validation)",
        description="Scores one card transaction against the customer's recent history.",
    )

    generate_openapi = app.openapi

    def openapi() -> dict:
        # openapi_extra reaches only the operation: the models its $ref names are added here, to
        # the schema FastAPI generates (as FastAPI's "Extending OpenAPI" does).
        schema = generate_openapi()
        schema["components"]["schemas"].update(REQUEST_COMPONENTS)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        return health_body

    refused = {"model": ErrorResponse}

    @app.post(
        "/score",
        response_model=ScoreResponse,
        responses={
            413: {**refused, "description": f"the body is over {MAX_BODY_BYTES} bytes"},
            415: {**refused, "description": "the body is not declared as application/json"},
            422: {**refused, "description": "the body is not a valid scoring request"},
        },
        openapi_extra={"requestBody": SCORE_REQUEST_BODY},
    )
    async def score(request: Request) -> JSONResponse:
        await budget.wait_for_turn()
        # The body is read and checked here rather than by a FastAPI body parameter: so both ways
        # of validating share the size limit and give the same answers to the same faults.
        if not is_json(request.headers.get("content-type", "")):
            return refusal(415, "the body must be JSON, sent with Content-Type: application/json")
        try:
            body = await read_body(request, MAX_BODY_BYTES)
        except ClientDisconnect:  # the client left mid-body: nobody reads this answer
            return refusal(400, "the connection closed before the body ended")
        if body is None:
            return refusal(413, f"the body must be at most {MAX_BODY_BYTES} bytes")
        try:
            transaction, history = validate(body)
        except RequestError as error:
            return refusal(422, str(error))
        # Scored inline, on the event loop: it takes tens of microseconds, less than handing it
        # to a worker thread and back would cost.
        answer = score_transaction(transaction, history)
        answer["engine"] = flavour
        return JSONResponse(answer)

    return app


def app_from_environment() -> FastAPI:
    """The app as SCORING_ENGINE and SCORING_VALIDATION set it; a bad setting or an engine that
    is not built ends the process with one line, not a traceback in every worker."""
    try:
        return create_app()
    except SettingsError as error:
        print(f"scoring_app: {error}", file=sys.stderr, flush=True)
        raise SystemExit(STARTUP_FAILURE) from None


app = app_from_environment()
