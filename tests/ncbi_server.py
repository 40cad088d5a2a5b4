"""A local stand-in for the NCBI Datasets v2 API, strict about the spec, scriptable to fail.

`NcbiServer` listens on 127.0.0.1 (a free port) under ``/datasets/v2``, in a thread. Every
request is checked against ``fixtures/spec/openapi.yaml``: the path must match an operation,
query names must exist (the real gateway silently ignores unknown names; here they are a
400, so a misspelt filter fails the test), non-array parameters must not repeat, arrays use
repeated keys, enums, booleans (``true``/``false``), integers and RFC 3339 date-times must be
valid, and a JSON body must match its schema. Requests are recorded in ``server.requests``.

Replies are scripted with ``server.script(...)``: each request takes the next action, and
when the script is empty the server answers 200 with ``server.package`` (a real zip from
``fixtures/real``). Actions: `ok`, `status`, `error`, `drop`, `truncated`, `flipped`,
`tampered`, `redirect`, `stalled`. ``server.serve(accessions, zip)`` makes the package depend on the
request: a request for exactly that set of accessions (GET path or POST body) gets ``zip``
(and `flipped`, `truncated`, `tampered` damage that one). With ``server.world`` set (a
`ncbi_world.World`), a request the script does not answer otherwise is answered from the
world: report pages and packages built from its records. ``server.bytes_sent`` counts the
response bodies sent.
"""

from __future__ import annotations

import io
import json
import re
import struct
import threading
import zipfile
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import yaml

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SPEC_PATH = FIXTURES / "spec" / "openapi.yaml"
REAL = FIXTURES / "real"
DEFAULT_PACKAGE = REAL / "sars-cov-2_NC_045512.2_2026.zip"
PREFIX = "/datasets/v2"
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


# ---- the spec ---------------------------------------------------------------------------
@lru_cache(maxsize=1)
def load_spec() -> dict:
    """The OpenAPI document, parsed once per test session."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(SPEC_PATH, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    regex: re.Pattern
    operation: dict


@lru_cache(maxsize=1)
def routes() -> list[Route]:
    """Every operation of the spec, literal paths before templated ones."""
    out = []
    for template, item in load_spec()["paths"].items():
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        for method, operation in item.items():
            if method in ("get", "post", "put", "delete", "patch"):
                out.append(Route(method.upper(), template, re.compile(pattern + "$"), operation))
    return sorted(out, key=lambda r: r.template.count("{"))


def resolve(schema: dict) -> dict:
    """Follow a local ``$ref``."""
    while "$ref" in schema:
        node = load_spec()
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def check_text(name: str, value: str, schema: dict) -> list[str]:
    """Problems with one query/path value against a scalar schema."""
    schema = resolve(schema)
    kind = schema.get("type", "string")
    if value == "":
        return [f"{name}: empty value"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{name}: {value!r} is not one of {schema['enum']}"]
    if kind == "boolean" and value not in ("true", "false"):
        return [f"{name}: {value!r} is not a boolean (true/false)"]
    if kind == "integer" and not re.fullmatch(r"-?\d+", value):
        return [f"{name}: {value!r} is not an integer"]
    if schema.get("format") == "date-time":
        return check_datetime(name, value)
    return []


def check_datetime(name: str, value: str) -> list[str]:
    if not RFC3339.fullmatch(value):
        return [f"{name}: {value!r} is not an RFC 3339 date-time"]
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return [f"{name}: {value!r} is not a real date-time"]
    return []


def check_json(name: str, value, schema: dict) -> list[str]:
    """Problems with a JSON value against a schema (objects, arrays, scalars, enums)."""
    schema = resolve(schema)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{name}: expected an object"]
        props = schema.get("properties", {})
        problems = [f"{name}: unknown field {key!r}" for key in value if key not in props]
        for key, item in value.items():
            if key in props:
                problems += check_json(f"{name}.{key}", item, props[key])
        return problems
    if kind == "array":
        if not isinstance(value, list):
            return [f"{name}: expected an array"]
        return [p for item in value for p in check_json(f"{name}[]", item, schema["items"])]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{name}: expected a boolean"]
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{name}: expected an integer"]
    if not isinstance(value, str):
        return [f"{name}: expected a string"]
    return check_text(name, value, schema)


def validate(method: str, path: str, query: list[tuple[str, str]], body: bytes) -> list[str]:
    """Every way this request departs from the spec (empty when it conforms)."""
    if not path.startswith(PREFIX + "/"):
        return [f"path {path!r} is not under {PREFIX}"]
    local = path[len(PREFIX) :]
    match = route = None
    for candidate in routes():
        if candidate.method == method:
            match = candidate.regex.match(local)
            if match:
                route = candidate
                break
    if route is None:
        return [f"no operation {method} {local}"]
    problems: list[str] = []
    params = {p["name"]: p for p in route.operation.get("parameters", [])}
    for name, raw in match.groupdict().items():
        schema = resolve(params[name]["schema"])
        items = unquote(raw).split(",") if schema.get("type") == "array" else [unquote(raw)]
        inner = schema.get("items", schema)
        problems += [p for item in items for p in check_text(name, item, inner)]
    seen: dict[str, int] = {}
    for key, value in query:
        seen[key] = seen.get(key, 0) + 1
        param = params.get(key)
        if param is None or param["in"] != "query":
            problems.append(f"unknown query parameter {key!r} (NCBI would silently ignore it)")
            continue
        schema = resolve(param["schema"])
        if schema.get("type") == "array":
            problems += check_text(key, value, schema["items"])
        else:
            problems += check_text(key, value, schema)
    for key, count in seen.items():
        if count > 1 and key in params and resolve(params[key]["schema"]).get("type") != "array":
            problems.append(f"{key}: not an array, but given {count} times")
    for name, param in params.items():
        if param.get("required") and param["in"] == "query" and name not in seen:
            problems.append(f"missing required parameter {name!r}")
    request_body = route.operation.get("requestBody")
    if request_body:
        try:
            data = json.loads(body or b"null")
        except ValueError:
            return problems + ["body is not JSON"]
        if data is None and request_body.get("required"):
            problems.append("missing JSON body")
        elif data is not None:
            schema = request_body["content"]["application/json"]["schema"]
            problems += check_json("body", data, schema)
    elif body:
        problems.append("unexpected request body")
    return problems


# ---- scripted replies ---------------------------------------------------------------------
@dataclass
class Action:
    kind: str
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes | None = None
    options: dict = field(default_factory=dict)


def ok(package: Path | None = None) -> Action:
    """200 with a real package (``server.package`` by default)."""
    return Action("ok", options={"package": package})


def status(code: int, body: bytes = b"", **headers: str) -> Action:
    """Any status with a raw body; e.g. ``status(429, **{"Retry-After": "7"})``."""
    return Action("status", code, {k.replace("_", "-"): v for k, v in headers.items()}, body)


def error(code: int, message: str, shape: str = "gateway", **headers: str) -> Action:
    """An NCBI error body: ``gateway`` {error,code,message} or ``rpc`` {code,message,details}."""
    reasons = {400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}
    if shape == "gateway":
        data = {"error": reasons.get(code, "Error"), "code": code, "message": message}
    else:
        data = {"code": 3, "message": message, "details": []}
    return Action("status", code, headers, json.dumps(data).encode())


def drop() -> Action:
    """Close the connection without answering."""
    return Action("drop")


def truncated(mode: str = "length") -> Action:
    """Half the zip; ``length``: Content-Length of the whole, then close (the client sees a
    short read); ``close``: no Content-Length, close after half (the stream looks complete)."""
    return Action("truncated", options={"mode": mode})


def flipped(at: int | None = None) -> Action:
    """The zip with one byte inverted: by default in the middle of the largest member's
    compressed data (a bad CRC), else at offset ``at`` of the file."""
    return Action("flipped", options={"at": at})


def tampered() -> Action:
    """A re-zipped package whose genomic.fna changed one letter: CRCs fine, md5 wrong."""
    return Action("tampered")


def stalled() -> Action:
    """Content-Length of the whole zip, half of it, then silence until ``server.release`` is
    set (``server.stalling`` is set once the half is sent): a download to interrupt."""
    return Action("stalled")


def redirect(location: str) -> Action:
    """302 to ``location``."""
    return Action("status", 302, {"Location": location})


def compressed_span(data: bytes) -> tuple[str, int, int]:
    """(name, start, size) of the largest member's compressed data in a zip."""
    info = max(zipfile.ZipFile(io.BytesIO(data)).infolist(), key=lambda i: i.compress_size)
    at = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[at + 26 : at + 30])
    return info.filename, at + 30 + name_len + extra_len, info.compress_size


def flip_byte(data: bytes, at: int | None = None) -> bytes:
    """Invert the byte at ``at``, by default mid-way into the largest member's data."""
    if at is None:
        _name, start, size = compressed_span(data)
        at = start + size // 2
    out = bytearray(data)
    out[at] ^= 0xFF
    return bytes(out)


def tamper(data: bytes) -> bytes:
    """Re-zip with one sequence letter changed, keeping the original md5sum.txt."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            if info.filename.endswith("genomic.fna"):
                at = content.index(b"\n") + 10
                letter = b"C" if content[at : at + 1] == b"A" else b"A"
                content = content[:at] + letter + content[at + 1 :]
            dst.writestr(info.filename, content)
    return buf.getvalue()


# ---- the server ---------------------------------------------------------------------------
@dataclass
class Recorded:
    """One request as received."""

    method: str
    path: str  # decoded, without the query
    raw_target: str  # exactly as on the request line
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    problems: list[str]
    sent: int = 0  # response body bytes sent

    @property
    def raw_query(self) -> str:
        return urlsplit(self.raw_target).query

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def values(self, key: str) -> list[str]:
        return [v for k, v in self.query if k == key]

    @property
    def accessions(self) -> list[str]:
        """The accessions asked for: from a POST body, else from the GET path."""
        if self.method == "POST":
            data = self.json
            return list(data.get("accessions") or []) if isinstance(data, dict) else []
        match = re.search(r"/virus/accession/([^/]+)/genome/download$", self.path)
        return match.group(1).split(",") if match else []


class NcbiServer:
    """The threaded test server; use as the ``ncbi`` fixture."""

    def __init__(self, package: Path = DEFAULT_PACKAGE):
        self.package = package
        self.packages: dict[frozenset[str], Path] = {}
        self.requests: list[Recorded] = []
        self.world = None  # a ncbi_world.World answers un-scripted requests when set
        self.bytes_sent = 0
        self._script: deque[Action] = deque()
        self._lock = threading.Lock()
        self.stalling = threading.Event()
        self.release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    @property
    def problems(self) -> list[str]:
        """Spec violations seen so far, over all requests."""
        return [p for r in self.requests for p in r.problems]

    def script(self, *actions: Action) -> None:
        """Queue replies; each request consumes one, then 200 with the package."""
        with self._lock:
            self._script.extend(actions)

    def serve(self, accessions: Iterable[str], package: Path) -> None:
        """Answer a request for exactly ``accessions`` (in any order) with ``package``."""
        self.packages[frozenset(accessions)] = package

    def package_for(self, record: Recorded) -> Path:
        """The package for this request: chosen with `serve`, else ``self.package``."""
        return self.packages.get(frozenset(record.accessions), self.package)

    def next_action(self) -> Action:
        with self._lock:
            return self._script.popleft() if self._script else ok()

    def start(self) -> NcbiServer:
        load_spec()
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler_for(server: NcbiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False)
            problems = validate(method, parts.path, query, body)
            headers = {k.lower(): v for k, v in self.headers.items()}
            path = unquote(parts.path)
            record = Recorded(method, path, self.path, query, headers, body, problems)
            with server._lock:
                server.requests.append(record)
            self._record = record
            if problems:
                message = "Invalid argument provided: " + "; ".join(problems)
                return self._reply(error(400, message), record)
            self._reply(server.next_action(), record)

        def _reply(self, action: Action, record: Recorded) -> None:
            if action.kind == "drop":
                self.close_connection = True
                return
            if action.kind == "status":
                return self._send(action.status, action.body or b"", action.headers)
            if action.kind == "ok" and server.world is not None and not action.options.get(
                "package"
            ):
                answer = server.world.answer(record)
                if answer is not None:
                    return self._send(*server.world.encode(record, answer))
            data = Path(action.options.get("package") or server.package_for(record)).read_bytes()
            if action.kind == "flipped":
                data = flip_byte(data, action.options["at"])
            elif action.kind == "tampered":
                data = tamper(data)
            elif action.kind == "stalled":
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                server.stalling.set()
                server.release.wait(60)
                self.close_connection = True
                return
            elif action.kind == "truncated":
                half = data[: len(data) // 2]
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                if action.options["mode"] == "length":
                    self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(half)
                self.close_connection = True
                return
            self._send(200, data, {"Content-Type": "application/zip"})

        def _send(self, code: int, body: bytes, headers: dict) -> None:
            self.send_response(code)
            if "Content-Type" not in headers and body:
                headers = {**headers, "Content-Type": "application/json"}
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with server._lock:
                server.bytes_sent += len(body)
                self._record.sent += len(body)

    return Handler


# ---- fixtures ---------------------------------------------------------------------------
class FakeTime:
    """A clock that only moves when slept on; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture(name="ncbi")
def ncbi_fixture(monkeypatch):
    """A running `NcbiServer`; ``$VPKG_BASE_URL`` points at it and ``$NCBI_API_KEY`` is unset."""
    server = NcbiServer().start()
    monkeypatch.setenv("VPKG_BASE_URL", server.base_url)
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    yield server
    server.stop()


@pytest.fixture(name="fake_time")
def fake_time_fixture() -> FakeTime:
    return FakeTime()


@pytest.fixture(name="policy")
def policy_fixture(fake_time):
    """A RetryPolicy with the default numbers but fake time: no real sleeps."""
    from vpkg.fetch import RetryPolicy

    return RetryPolicy(sleep=fake_time.sleep, clock=fake_time.clock)
