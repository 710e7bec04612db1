"""The HTTP service: the webhook, the JSON read side (OpenAPI at /docs and /openapi.json),
the HTML pages, and the reporter thread for the service's lifetime."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import sqlalchemy.exc
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from repairbot.config import Settings
from repairbot.github import pages
from repairbot.github.auth import Tokens
from repairbot.github.client import GitHub
from repairbot.github.reporter import Reporter, start_thread
from repairbot.github.settings import BotSettings
from repairbot.github.start import Starter
from repairbot.github.store import PENDING, BotStore
from repairbot.github.webhook import Refused, verify


def create_app(bot: BotSettings, operator: Settings, store: BotStore, report: bool = True) -> FastAPI:
    """The service; `report`: run the reporter thread (off for a second process sharing a database)."""
    http = httpx.Client(base_url=bot.api_url, timeout=30)
    tokens = Tokens(bot, http)

    def github(installation_id: int | None) -> GitHub:
        return GitHub(tokens, installation_id, http)

    starter = Starter(bot, operator, store, github)
    secret = bot.webhook_secret.get_secret_value().encode()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = start_thread(Reporter(bot, store, tokens, github), bot.poll_s, stop) if report else None
        yield
        stop.set()
        if thread is not None:
            thread.join(timeout=30)

    app = FastAPI(title="repairbot", description="GitHub bot: failing CI in, pull requests with fixes out.",
                  lifespan=lifespan)

    @app.post("/github/webhook", status_code=202, summary="GitHub webhook deliveries")
    async def webhook(request: Request) -> JSONResponse:
        try:
            body = await _body(request, bot.max_body_bytes)
            delivery = verify(secret, body, {k.lower(): v for k, v in request.headers.items()}, bot.max_body_bytes)
            answer = await run_in_threadpool(starter.handle, delivery)
        except Refused as refused:
            return JSONResponse({"status": "refused", "reason": refused.reason}, status_code=refused.status)
        except sqlalchemy.exc.OperationalError as exc:  # the database busy or gone: nothing was started
            return JSONResponse({"status": "refused", "reason": f"database unavailable, redeliver: {exc.orig}"},
                                status_code=503)
        return JSONResponse(answer.body, status_code=answer.status)

    @app.get("/health", summary="Liveness and the database")
    def health() -> dict[str, Any]:
        return {"status": "ok", "pending": sum(1 for job in store.pending_jobs() if job.state == PENDING)}

    @app.get("/jobs", summary="The bot's recent jobs, newest first")
    def jobs(limit: int = 50) -> list[dict[str, Any]]:
        return [{**job.as_json(), "repair_status": store.state(job.repair_job_id).status.value}
                for job in store.bot_jobs(min(max(limit, 1), 500))]

    @app.get("/jobs/{job_id}", summary="One job with its repair job's evidence")
    def job(job_id: int) -> dict[str, Any]:
        found, detail = _job(store, job_id)
        s = detail.summary
        return {
            **found.as_json(),
            "repair": {
                "status": s.status, "stage": s.stage, "error": s.error, "candidates_tried": s.candidates_tried,
                "failing_tests": [test_id for test_id, _ in detail.failures],
                "set_aside": {test_id: why for test_id, why in detail.baseline_failures},
                "suspicious": [{"file": loc.file, "start_line": loc.start_line, "end_line": loc.end_line,
                                "score": loc.score, "formula": loc.formula} for loc in detail.locations],
                "patches": [{"rank": p.rank, "file": p.file, "generator": p.generator, "description": p.description,
                             "diff": p.diff, "verdict": p.verdict} for p in detail.patches],
            },
        }

    @app.get("/ui", response_class=HTMLResponse, summary="HTML: recent jobs")
    def ui_list() -> str:
        return pages.job_list([(job, store.state(job.repair_job_id).status.value) for job in store.bot_jobs(100)])

    @app.get("/ui/jobs/{job_id}", response_class=HTMLResponse, summary="HTML: one job")
    def ui_job(job_id: int) -> str:
        return pages.job_detail(*_job(store, job_id))

    return app


def _job(store: BotStore, job_id: int) -> tuple[Any, Any]:
    found = store.bot_job(job_id)
    detail = store.get_job(found.repair_job_id) if found is not None else None
    if found is None or detail is None:
        raise HTTPException(404, f"no bot job {job_id}")
    return found, detail


async def _body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes `limit` (never read whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"body of {declared} bytes is over the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
