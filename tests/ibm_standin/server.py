"""HTTP front-end of the IBM Quantum Runtime stand-in (stdlib ``http.server`` only).

One loopback server answers, under different path prefixes, everything the real
``qiskit-ibm-runtime`` 0.51 client (channel ``ibm_quantum_platform``) talks to:

==============================  =========================================================
IAM token exchange              ``POST /identity/token``  (``IAM_URL=<base_url>``)
Global Search (instances)       ``POST /global-search/v3/resources/search``
                                (``GLOBAL_SEARCH_URL=<base_url>/global-search``)
Global Catalog (plan names)     ``GET /global-catalog/<plan id>``
                                (``GLOBAL_CATALOG_URL=<base_url>/global-catalog``)
Runtime API                     ``<base_url>/experimental/api/v1/...`` (the client keeps a
                                URL containing "experimental" as is; the prefix is
                                optional on the server side)
==============================  =========================================================

Runtime routes: ``GET /backends``, ``GET /backends/<name>/{configuration,properties,status}``,
``GET /instances/usage``, ``POST|GET /jobs``, ``GET|DELETE /jobs/<id>``,
``GET /jobs/<id>/{results,logs,metrics}``, ``POST /jobs/<id>/cancel``, ``PUT /jobs/<id>/tags``,
``POST /sessions``, ``GET|PATCH /sessions/<id>``, ``DELETE /sessions/<id>/close``.

Use :class:`StandinService` (a :class:`~.state.Registry` with a server attached)::

    with StandinService() as standin:
        os.environ.update(standin.env())
        service = QiskitRuntimeService(**standin.client_kwargs())
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .state import ApiError, Registry

logger = logging.getLogger(__name__)

_RUNTIME_PREFIX = re.compile(r"^(?:/experimental)?(?:/api/v\d+)?(?=/)")
_TOKEN_TTL = 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_access_token() -> str:
    """An (unsigned) JWT: ibm_cloud_sdk_core only decodes ``iat``/``exp`` from it."""
    now = int(time.time())
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({"iat": now, "exp": now + _TOKEN_TTL, "sub": "standin", "jti": uuid.uuid4().hex}).encode())
    return f"{header}.{payload}.{_b64(b'standin-signature')}"


class _Handler(BaseHTTPRequestHandler):
    """Routes one request to the registry of the owning :class:`StandinService`."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are dropped after this many seconds
    server: "_Server"

    # ---------------------------------------------------------------- plumbing
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("standin: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    _swallow = False

    def _send(self, status: int, body: Any = None, content_type: str = "application/json", headers: dict | None = None) -> None:
        if self._swallow:
            return
        if body is None:
            data = b""
        elif isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
        else:
            data = json.dumps(body).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        with self.server.standin.lock:  # log before answering, so a client never outruns the log
            self.server.standin.http_log.append((self.command, self._path, status))
        self.wfile.write(data)

    def _send_error(self, err: ApiError) -> None:
        body = {
            "errors": [{
                "code": err.code,
                "message": err.message,
                "more_info": f"https://quantum.cloud.ibm.com/docs/errors#{err.code}",
            }],
            "trace": uuid.uuid4().hex[:20],
            "status_code": err.status,
        }
        self._send(err.status, body, headers=err.headers)

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        self._query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        self._raw = self.rfile.read(length) if length else b""
        path = parts.path.rstrip("/") or "/"
        self._path = path
        standin = self.server.standin
        if standin._stopping.is_set():  # a pooled keep-alive connection outliving stop()
            self.close_connection = True
            return self._send_error(ApiError(503, "unavailable", "The stand-in is stopped."))
        try:
            if path == "/identity/token" and method == "POST":
                return self._iam_token()
            self._check_auth(runtime=not path.startswith(("/global-search/", "/global-catalog/")))
            if path.startswith("/global-search/"):
                return self._send(200, standin.global_search_response())
            if path.startswith("/global-catalog/"):
                return self._send(200, standin.catalog_entry())
            self._path = path = _RUNTIME_PREFIX.sub("", path)
            fault = standin.take_fault(method, path)
            if fault and standin.carry_out(fault):
                self._swallow = True  # done, but the answer is lost: the fault is answered instead
                try:
                    self._runtime(method, path)
                except ApiError:
                    pass
                finally:
                    self._swallow = False
            if fault:
                headers = {"Retry-After": str(int(fault.retry_after))} if fault.retry_after is not None else None
                return self._send_error(ApiError(fault.status, fault.code, fault.message, headers))
            self._runtime(method, path)
        except ApiError as err:
            self._send_error(err)
        except Exception as ex:  # noqa: BLE001 - report bugs of the stand-in as 500s
            logger.exception("stand-in failure on %s %s", method, self.path)
            self._send_error(ApiError(500, "internal_error", f"Stand-in failure: {ex!r}"))

    def _json(self) -> dict:
        return json.loads(self._raw or b"{}")

    # ------------------------------------------------------------ auth & IAM
    def _iam_token(self) -> None:
        form = parse_qs(self._raw.decode())
        if form.get("apikey", [None])[0] != self.server.standin.api_key:
            return self._send(400, {
                "errorCode": "BXNIM0415E",
                "errorMessage": "Provided API key could not be found.",
            })
        token = make_access_token()
        with self.server.standin.lock:
            self.server.standin.issued_tokens.add(token)
        self._send(200, {
            "access_token": token,
            "refresh_token": "not_supported",
            "token_type": "Bearer",
            "expires_in": _TOKEN_TTL,
            "expiration": int(time.time()) + _TOKEN_TTL,
            "scope": "ibm openid",
        })

    def _check_auth(self, runtime: bool) -> None:
        standin = self.server.standin
        auth = self.headers.get("Authorization", "")
        scheme, _, credential = auth.partition(" ")
        ok = (scheme == "Bearer" and credential in standin.issued_tokens) or (
            scheme == "apikey" and credential == standin.api_key
        )
        if not ok:
            raise ApiError(401, "unauthorized", "Invalid or missing credentials.")
        crn = self.headers.get("Service-CRN")
        if runtime and crn and crn != standin.instance_crn:
            raise ApiError(403, "forbidden", f"Instance {crn} is not accessible with this API key.")

    # ---------------------------------------------------------------- runtime
    def _runtime(self, method: str, path: str) -> None:
        standin = self.server.standin
        segs = path.strip("/").split("/")
        route = (method, segs[0], len(segs))
        if route == ("GET", "backends", 1):
            return self._send(200, standin.backends_response())
        if segs[0] == "backends" and len(segs) == 3 and method == "GET":
            entry = standin.backend_entry(segs[1])
            if segs[2] == "configuration":
                return self._send(200, entry.configuration)
            if segs[2] == "properties":
                return self._send(200, entry.properties)
            if segs[2] == "status":
                return self._send(200, {
                    "state": entry.operational,
                    "status": entry.status_msg,
                    "message": "available" if entry.operational else entry.status_msg,
                    "length_queue": standin.pending_count(entry.name),
                    "backend_version": entry.configuration.get("backend_version", "1.0.0"),
                })
        if route == ("GET", "instances", 2) and segs[1] == "usage":
            return self._send(200, standin.usage_response())
        if route == ("POST", "jobs", 1):
            job = standin.create_job(self._json())
            return self._send(200, {"id": job.id, "backend": job.backend, "session_id": job.session_id})
        if route == ("GET", "jobs", 1):
            return self._send(200, standin.list_jobs(self._query))
        if segs[0] == "jobs" and len(segs) in (2, 3):
            job = standin.get_job(segs[1])
            action = (method, segs[2] if len(segs) == 3 else "")
            if action == ("GET", ""):
                exclude = self._query.get("exclude_params", ["false"])[0] == "true"
                return self._send(200, standin.job_to_api(job, exclude))
            if action == ("DELETE", ""):
                standin.delete_job(job)
                return self._send(204)
            if action == ("GET", "results"):
                return self._send(200, standin.job_results(job), "text/plain")
            if action == ("GET", "logs"):
                return self._send(200, "", "text/plain")
            if action == ("GET", "metrics"):
                return self._send(200, standin.job_metrics(job))
            if action == ("POST", "cancel"):
                standin.request_cancel(job)
                return self._send(204)
            if action == ("PUT", "tags"):
                standin.update_tags(job, self._json().get("tags", []))
                return self._send(204)
        if route == ("POST", "sessions", 1):
            session = standin.create_session(self._json())
            return self._send(200, standin.session_to_api(session))
        if segs[0] == "sessions" and len(segs) in (2, 3):
            session = standin.get_session(segs[1])
            action = (method, segs[2] if len(segs) == 3 else "")
            if action == ("GET", ""):
                return self._send(200, standin.session_to_api(session))
            if action == ("PATCH", ""):
                standin.patch_session(session, self._json())
                return self._send(204)
            if action == ("DELETE", "close"):
                standin.cancel_session(session)
                return self._send(204)
        raise ApiError(404, "not_found", f"No route for {method} {path} in the stand-in.")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    standin: "StandinService"


class StandinService(Registry):
    """The stand-in service: a :class:`~.state.Registry` served on ``127.0.0.1:<random port>``.

    Start/stop it with :meth:`start`/:meth:`stop` or use it as a context manager.  See
    :class:`~.state.Registry` for the observation and fault-injection API.
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.issued_tokens: set[str] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "StandinService":
        """Bind 127.0.0.1 on a random free port and serve in a daemon thread."""
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(("127.0.0.1", 0), _Handler)
            self._server.standin = self
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                daemon=True, name="ibm-standin-http",
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; job threads stop at their next poll."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "StandinService":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------ addresses
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("stand-in not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (also the IAM URL)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Value for ``QiskitRuntimeService(url=...)``: contains ``experimental`` so that the
        client's default URL resolver uses it unchanged instead of rewriting it to
        ``https://quantum.<host>/api/v1`` (which would drop the port)."""
        return f"{self.base_url}/experimental/api/v1"

    def env(self) -> dict[str, str]:
        """Environment variables pointing the client's IBM Cloud calls at the stand-in."""
        return {
            "IAM_URL": self.base_url,
            "GLOBAL_SEARCH_URL": f"{self.base_url}/global-search",
            "GLOBAL_CATALOG_URL": f"{self.base_url}/global-catalog",
        }

    def client_kwargs(self, channel: str = "ibm_quantum_platform") -> dict[str, str]:
        """Keyword arguments for ``QiskitRuntimeService(**kwargs)`` (needs :meth:`env` set)."""
        return {"channel": channel, "token": self.api_key, "instance": self.instance_crn, "url": self.url}

    # ------------------------------------------------------------ canned documents
    def global_search_response(self) -> dict:
        """Global Search answer listing the one quantum-computing instance."""
        return {
            "items": [{
                "crn": self.instance_crn,
                "name": self.instance_name,
                "service_plan_unique_id": "standin-plan",
                "doc": {"extensions": {"quantum-computing": {"allocation": "standin"}}},
                "tags": [],
            }],
            "limit": 100,
            "search_cursor": None,
        }

    @staticmethod
    def catalog_entry() -> dict:
        return {
            "id": "standin-plan",
            "overview_ui": {"en": {"display_name": "Open"}},
            "metadata": {"pricing": {"type": "free"}},
        }

    def backends_response(self) -> dict:
        return {"devices": [
            {
                "name": e.name,
                "status": {"name": "online" if e.operational else "offline", "reason": e.status_msg},
                "qubits": e.configuration["n_qubits"],
                "queue_length": self.pending_count(e.name),
                "processor_type": e.configuration.get("processor_type", {}),
                "clops": {"type": "hardware", "value": e.configuration.get("clops_h", 0)},
            }
            for e in self.backends.values()
        ]}

    def usage_response(self) -> dict:
        return {
            "instance_id": self.instance_crn,
            "plan_id": "standin-plan",
            "usage_consumed_seconds": 0,
            "usage_limit_seconds": None,
            "usage_limit_reached": self.usage_limit_reached,
        }
