"""The baseline: a bare FastAPI endpoint that parses the JSON body and answers 200, served the
way the gateway is (uvicorn, one process, uvloop + httptools)."""

from __future__ import annotations

import sys

import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/api/v1/webhook/{provider}/{token}")
async def webhook(provider: str, token: str, request: Request) -> JSONResponse:
    payload = orjson.loads(await request.body())
    return JSONResponse({"status": "ok", "keys": len(payload)})


@app.post("/api/v1/webhook/{provider}")
async def webhook_bare(provider: str, request: Request) -> JSONResponse:
    payload = orjson.loads(await request.body())
    return JSONResponse({"status": "ok", "keys": len(payload)})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
