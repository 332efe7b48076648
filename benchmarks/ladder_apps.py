"""The framework's ceiling: three apps that answer GET /fib/{n} with the body our app gives at n=0,
each doing less than the one after it, served by the same uvicorn as the variants.

- `bare_asgi`: a raw ASGI callable that sends prepared bytes (uvicorn's own cost: the server);
- `starlette_app`: one Starlette route returning a JSONResponse (routing, request and response
  objects: the framework);
- `fastapi_app`: one FastAPI route with our response model and no computation (dependency
  resolution, the model's validation and serialisation: FastAPI's floor).

The variants at n=0 add our contract (parsing n, the budget check, the timing) and the
computation's dispatch. The harness's ladder (benchmarks/ladder.py) measures all of them on one
pinned core, interleaved, so their ratios come from the same minutes of the same run.
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from baseline.baseline_app import FibResponse
from baseline.runtime import runtime_description

# What our app answers to GET /fib/0, with a compute time of the size it reports there.
BODY = {
    "n": 0,
    "result": 0,
    "compute_time_seconds": 1.5e-07,
    "runtime": runtime_description(),
    "implementation": "ladder",
}
BODY_BYTES = json.dumps(BODY, separators=(",", ":")).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY_BYTES))]


async def bare_asgi(scope: dict, receive, send) -> None:
    """Every HTTP request gets BODY; lifespan events are acknowledged."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY_BYTES})


async def _starlette_fib(request: Request) -> JSONResponse:
    return JSONResponse(BODY)


async def _starlette_health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "healthy"})


starlette_app = Starlette(
    routes=[Route("/fib/{n}", _starlette_fib), Route("/health", _starlette_health)]
)

fastapi_app = FastAPI(title="FastAPI's floor")


@fastapi_app.get("/fib/{n}", response_model=FibResponse)
async def _fastapi_fib(n: str) -> FibResponse:
    return FibResponse(**BODY)


@fastapi_app.get("/health")
async def _fastapi_health() -> dict:
    return {"status": "healthy"}
