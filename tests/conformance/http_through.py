"""One HTTP request two ways: over real HTTP to devhost, and as the host hands it to the real worker.

The worker side builds RpcHttp as the Functions host does: lowercased header names, the query with
repeated keys joined by "," and empty values dropped, the route values, the body as bytes; the function is
found with devhost's route table (the .NET host's routing itself is not part of the comparison).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import requests

from devhost.durable_api import client_binding

# Transport-level headers each server writes itself; compared neither way (Content-Length follows the body).
TRANSPORT_HEADERS = frozenset({"date", "server", "content-length", "connection", "keep-alive", "transfer-encoding"})
REQUEST_ID = "conformance-0001"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def comparable(self) -> tuple[int, dict[str, str], bytes]:
        return self.status, {k: v for k, v in self.headers.items() if k not in TRANSPORT_HEADERS}, self.body


def _merge(pairs: list[tuple[str, str]], sep: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for key, value in pairs:
        merged[key.lower()] = f"{merged[key.lower()]}{sep}{value}" if key.lower() in merged else value
    return merged


def via_devhost(base_url: str, call: Call) -> Answer:
    headers = {"X-Request-ID": REQUEST_ID, **call.headers}
    session = requests.Session()
    session.headers.clear()  # no client defaults (Accept-Encoding, User-Agent): the worker gets the same headers
    response = session.request(
        call.method,
        base_url + call.target,
        headers=headers,
        data=call.body,
        allow_redirects=False,
        stream=True,
        timeout=30,
    )
    body = response.raw.read(decode_content=False)  # as sent: gzip stays gzip
    return Answer(response.status_code, _merge(list(response.raw.headers.items()), ", "), body)


def host_query(query: str) -> dict[str, str]:
    """The host's query map: repeated keys joined with ",", empty values dropped."""
    joined: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        joined.setdefault(key, []).append(value)
    return {key: ",".join(values) for key, values in joined.items() if ",".join(values)}


def rpc_http(protos: Any, base_url: str, call: Call, route_values: dict[str, str]) -> Any:
    headers = {"Host": base_url.removeprefix("http://"), "X-Request-ID": REQUEST_ID, **call.headers}
    if call.body:
        headers["Content-Length"] = str(len(call.body))
    return protos.RpcHttp(
        method=call.method,
        url=base_url + call.target,
        headers=_merge(list(headers.items()), ","),
        query=host_query(call.query),
        params=route_values,
        body=protos.TypedData(bytes=call.body),
    )


def answer_of(protos: Any, response: Any) -> Answer:
    """The HTTP answer the host writes from the worker's InvocationResponse."""
    assert response.result.status == protos.StatusResult.Success, response.result.exception.message
    http = response.return_value.http
    kind = http.body.WhichOneof("data")
    body = http.body.bytes if kind == "bytes" else http.body.string.encode() if kind == "string" else b""
    headers = [(k, v) for k, v in http.headers.items()]
    headers += [("Set-Cookie", f"{c.name}={c.value}") for c in http.cookies]
    return Answer(int(http.status_code or 200), _merge(headers, ", "), body)


def via_worker(pair: Any, call: Call) -> Answer:
    protos = pair.worker.protos
    info, values, _ = pair.index.match_http(call.method, call.path)
    assert info is not None, f"no function serves {call.method} {call.path}"
    inputs = {info.trigger_name: protos.TypedData(http=rpc_http(protos, pair.devhost.base_url, call, values))}
    if info.client_binding:  # what the Durable extension gives: the HTTP-flavour binding JSON, as a string
        binding = client_binding(pair.devhost.base_url, system_key=pair.system_key)
        inputs[info.client_binding] = protos.TypedData(string=binding)
    return answer_of(protos, pair.worker.invoke(info.name, inputs))


def volatile_free(answer: Answer, keys: tuple[str, ...]) -> Answer:
    """The body with the named JSON keys (timings, timestamps) blanked wherever they occur."""

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ("*" if k in keys else scrub(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    body = json.dumps(scrub(json.loads(answer.body)), sort_keys=True).encode() if answer.body else b""
    return Answer(answer.status, answer.headers, body)
