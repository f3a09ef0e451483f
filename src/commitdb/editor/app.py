"""The editor's web application (Starlette): a JSON API over an EditorSession, server-sent
events for live updates, and the static page.

Only 127.0.0.1 is served. Requests whose Host is not local are refused (a web page elsewhere
cannot reach the editor through DNS rebinding) and every write needs the ``X-Commitdb-Editor``
header, which a cross-site form cannot send. No request can stop the server: every error
becomes a JSON answer ``{"error": ..., "kind": ...}`` with a fitting status.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from commitdb.editor.session import EditorSession, StaleEditError
from commitdb.editor.syncing import SyncPanel
from commitdb.errors import (
    CommitDBError,
    ConnectionFailedError,
    DatabaseBusyError,
    DatabaseClosedError,
    NotAHeadError,
    NotFoundError,
    NotMergeableError,
    ReadOnlyError,
)

STATIC = Path(__file__).with_name("static")
WATCH_INTERVAL = 0.2  # seconds between two looks at data_version()
MAX_JSON = 1 << 20
MAX_BLOB = 256 << 20
WRITE_HEADER = "x-commitdb-editor"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
log = logging.getLogger("commitdb.editor")


class BadRequest(Exception):
    pass


def _status(error: Exception) -> int:
    if isinstance(error, BadRequest):
        return 400
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, StaleEditError | NotAHeadError | NotMergeableError):
        return 409
    if isinstance(error, DatabaseBusyError | ConnectionFailedError | DatabaseClosedError):
        return 503
    if isinstance(error, ReadOnlyError):
        return 403
    if isinstance(error, CommitDBError):
        return 400
    return 500


def _error(error: Exception) -> JSONResponse:
    status = _status(error)
    if status == 500:
        log.exception("editor request failed")
    message = str(error) or type(error).__name__
    if isinstance(error, ConnectionFailedError):
        message = f"the server cannot be reached: {message}"
    elif isinstance(error, DatabaseBusyError):
        message = f"the database stayed busy beyond the timeout: {message}"
    return JSONResponse({"error": message, "kind": type(error).__name__}, status_code=status)


def _int(request: Request, name: str, default: int, minimum: int = 0) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise BadRequest(f"{name} must be at least {minimum}, got {value}")
    return value


def _param(request: Request, name: str) -> str:
    raw = request.query_params.get(name)
    if not raw:
        raise BadRequest(f"the query parameter {name!r} is required")
    return raw


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_JSON:
        raise BadRequest(f"the request body is larger than {MAX_JSON} bytes")
    try:
        data = json.loads(body or b"{}")
    except ValueError as error:
        raise BadRequest(f"the request body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data


def create_app(session: EditorSession) -> LocalOnly:
    """The ASGI application for ``session`` (the caller closes the session's database)."""
    panel = SyncPanel(session)
    subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
    loop_box: dict[str, asyncio.AbstractEventLoop] = {}

    def broadcast(event: dict[str, Any]) -> None:
        """Called from any thread: hand ``event`` to every open event stream."""
        loop = loop_box.get("loop")
        if loop is None or loop.is_closed():
            return
        for queue in list(subscribers):
            loop.call_soon_threadsafe(queue.put_nowait, event)

    session.listeners.append(broadcast)

    async def watch() -> None:
        """Tell the pages when anything was written (by us or another process)."""
        last: Any = None
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            if not subscribers:
                continue
            try:
                token = await run_in_threadpool(_token_without_waiting, session)
            except Exception as error:  # a broken connection: say so, keep watching
                broadcast({"kind": "error", "error": str(error)})
                await asyncio.sleep(1)
                continue
            if token is not None and token != last:
                if last is not None:
                    broadcast({"kind": "changed", "token": list(token)})
                last = token

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        loop_box["loop"] = asyncio.get_running_loop()
        task = asyncio.create_task(watch())
        try:
            yield
        finally:
            task.cancel()
            await run_in_threadpool(panel.stop_live)
            await run_in_threadpool(panel.close)

    def endpoint(fn: Callable[..., Any], write: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            try:
                if write and request.headers.get(WRITE_HEADER) != "1":
                    raise BadRequest(f"a write needs the {WRITE_HEADER} header")
                body = await _json(request) if write and fn.__code__.co_argcount > 1 else None
                result = await run_in_threadpool(fn, request, body) if body is not None \
                    else await run_in_threadpool(fn, request)
            except Exception as error:
                return _error(error)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)
        return handle

    # --- reading ------------------------------------------------------------------------------
    def status(_: Request) -> Any:
        return session.status()

    def info(_: Request) -> Any:
        return session.info()

    def graph(request: Request) -> Any:
        return session.graph_page(_int(request, "offset", 0), _int(request, "limit", 200, 1))

    def graph_row(request: Request) -> Any:
        return {"row": session.row_of(_param(request, "commit"))}

    def header(request: Request) -> Any:
        return session.header(request.path_params["commit"])

    def abstractions(_: Request) -> Any:
        return session.abstractions()

    def keys(request: Request) -> Any:
        return session.keys(_param(request, "attachment"))

    def instance(request: Request) -> Any:
        return session.instance_attachments(_param(request, "key"))

    def document(request: Request) -> Any:
        return session.document(_param(request, "attachment"), _param(request, "key"),
                                request.query_params.get("commit"))

    def actions(request: Request) -> Any:
        return session.actions(_int(request, "offset", 0), _int(request, "limit", 200, 1))

    def program(request: Request) -> Any:
        trace = request.query_params.get("trace") in ("1", "true")
        commit = None if trace else _param(request, "commit")
        return session.program(commit, trace, _int(request, "offset", 0), _int(request, "limit", 500, 1))

    def diff(request: Request) -> Any:
        return session.diff(_param(request, "commit"))

    def blobs(_: Request) -> Any:
        return session.blobs()

    def blob_download(request: Request) -> Any:
        blob_id = request.path_params["blob"]
        data = session.blob_data(blob_id)
        return Response(data, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{blob_id}.bin"'})

    def live(_: Request) -> Any:
        return panel.live_status()

    # --- writing ------------------------------------------------------------------------------
    def select(_: Request, body: dict[str, Any]) -> Any:
        session.select(body.get("commit"))
        return session.status()

    def mark(_: Request, body: dict[str, Any]) -> Any:
        session.mark(body.get("commit"))
        return session.status()

    def navigate(_: Request, body: dict[str, Any]) -> Any:
        session.navigate(body.get("direction"))  # type: ignore[arg-type]
        return session.status()

    def forward(_: Request) -> Any:
        session.forward()
        return session.status()

    def merge_heads(_: Request) -> Any:
        merged = session.merge_heads()
        return {**session.status(), "merged": merged}

    def merge_marked(_: Request) -> Any:
        merged = session.merge_marked()
        return {**session.status(), "merged": merged}

    def toggle(_: Request, body: dict[str, Any]) -> Any:
        enable = body.get("enable")
        if enable is not None and not isinstance(enable, bool):
            raise BadRequest("enable must be true, false or absent")
        made = session.toggle(body.get("commit"), enable)
        return {**session.status(), "made": made}

    def delete_head(_: Request, body: dict[str, Any]) -> Any:
        session.delete_head(body.get("commit"))
        return session.status()

    def reset(_: Request, body: dict[str, Any]) -> Any:
        if body.get("confirm") != "reset":
            raise BadRequest('reset removes every commit but the first: send {"confirm": "reset"}')
        session.reset()
        return session.status()

    def undo(_: Request) -> Any:
        session.undo()
        return session.status()

    def redo(_: Request) -> Any:
        session.redo()
        return session.status()

    def edit(_: Request, body: dict[str, Any]) -> Any:
        made = session.edit(body)
        return {**session.status(), **made}

    def sync(_: Request, body: dict[str, Any]) -> Any:
        return panel.run(body.get("mode"), body.get("source"))  # type: ignore[arg-type]

    def live_start(_: Request, body: dict[str, Any]) -> Any:
        panel.start_live(body)
        return panel.live_status()

    def live_stop(_: Request) -> Any:
        panel.stop_live()
        return panel.live_status()

    async def blob_upload(request: Request) -> Response:
        try:
            if request.headers.get(WRITE_HEADER) != "1":
                raise BadRequest(f"a write needs the {WRITE_HEADER} header")
            data = await request.body()
            if len(data) > MAX_BLOB:
                raise BadRequest(f"a blob upload is limited to {MAX_BLOB} bytes")
            blob_id = await run_in_threadpool(session.create_blob, request.query_params.get("layout", ""), data)
        except Exception as error:
            return _error(error)
        return JSONResponse({"blob_id": blob_id, "size": len(data)})

    async def events(request: Request) -> Response:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        subscribers.add(queue)

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 1000\n\n"
                yield b"data: " + json.dumps({"kind": "hello"}).encode() + b"\n\n"
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=15)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    yield b"data: " + json.dumps(event).encode() + b"\n\n"
            finally:
                subscribers.discard(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def index(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    routes = [
        Route("/", index),
        Route("/api/status", endpoint(status)),
        Route("/api/info", endpoint(info)),
        Route("/api/graph", endpoint(graph)),
        Route("/api/graph/row", endpoint(graph_row)),
        Route("/api/commits/{commit}", endpoint(header)),
        Route("/api/abstractions", endpoint(abstractions)),
        Route("/api/keys", endpoint(keys)),
        Route("/api/instance", endpoint(instance)),
        Route("/api/document", endpoint(document)),
        Route("/api/actions", endpoint(actions)),
        Route("/api/program", endpoint(program)),
        Route("/api/diff", endpoint(diff)),
        Route("/api/blobs", endpoint(blobs)),
        Route("/api/blobs", blob_upload, methods=["POST"]),
        Route("/api/blobs/{blob}", endpoint(blob_download)),
        Route("/api/live", endpoint(live)),
        Route("/api/events", events),
        Route("/api/select", endpoint(select, True), methods=["POST"]),
        Route("/api/mark", endpoint(mark, True), methods=["POST"]),
        Route("/api/navigate", endpoint(navigate, True), methods=["POST"]),
        Route("/api/forward", endpoint(forward, True), methods=["POST"]),
        Route("/api/merge-heads", endpoint(merge_heads, True), methods=["POST"]),
        Route("/api/merge-marked", endpoint(merge_marked, True), methods=["POST"]),
        Route("/api/toggle", endpoint(toggle, True), methods=["POST"]),
        Route("/api/delete-head", endpoint(delete_head, True), methods=["POST"]),
        Route("/api/reset", endpoint(reset, True), methods=["POST"]),
        Route("/api/undo", endpoint(undo, True), methods=["POST"]),
        Route("/api/redo", endpoint(redo, True), methods=["POST"]),
        Route("/api/edit", endpoint(edit, True), methods=["POST"]),
        Route("/api/sync", endpoint(sync, True), methods=["POST"]),
        Route("/api/live/start", endpoint(live_start, True), methods=["POST"]),
        Route("/api/live/stop", endpoint(live_stop, True), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return LocalOnly(Starlette(routes=routes, lifespan=lifespan))


class LocalOnly:
    """ASGI wrapper refusing HTTP requests whose Host header is not a loopback name."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            name = host.split("]")[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
            if name not in LOCAL_HOSTS:
                response = JSONResponse({"error": f"the editor only answers requests for 127.0.0.1, not {host!r}",
                                         "kind": "Forbidden"}, status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _token_without_waiting(session: EditorSession) -> Any:
    """The session's change token, or None when a long operation holds the session."""
    if not session.lock.acquire(timeout=0.05):
        return None
    try:
        return session.change_token()
    finally:
        session.lock.release()
