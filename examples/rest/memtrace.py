"""A small Memtrace REST client with the calls of Memtrace's Python SDK (memtrace-sdk), on the standard
library only, so the integration guide's programs run where that package cannot be installed.

Method names, arguments and the fields of what they return mirror the SDK one for one; requests may be
the SDK's request objects (the dataclasses below) or plain dicts, as the guide writes them. Extras the
guide uses but the SDK lacks: remember()/decide() take session_id=, and search_sessions().
"""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DEFAULT_TIMEOUT = 30.0


class MemtraceError(Exception):
    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class AuthenticationError(MemtraceError):
    pass


class NotFoundError(MemtraceError):
    pass


class ConflictError(MemtraceError):
    pass


class Record(dict):
    """A JSON object whose fields read as attributes (mem.id, memories.memories[0].content)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _records(value: Any) -> Any:
    if isinstance(value, dict):
        return Record({k: _records(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_records(v) for v in value]
    return value


@dataclasses.dataclass
class AddMemoryRequest:
    agent_id: str
    content: str
    memory_type: str | None = None
    event_type: str | None = None
    session_id: str | None = None
    metadata: dict | None = None
    tags: list | None = None
    dedup_key: str | None = None
    importance: float | None = None
    parent_id: str | None = None


@dataclasses.dataclass
class ListOptions:
    agent_id: str | None = None
    session_id: str | None = None
    memory_type: str | None = None
    event_type: str | None = None
    tags: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int | None = None
    offset: int | None = None
    order: str | None = None


@dataclasses.dataclass
class SearchQuery:
    agent_id: str | None = None
    session_id: str | None = None
    memory_types: list | None = None
    event_types: list | None = None
    tags: list | None = None
    content_contains: str | None = None
    since: str | None = None
    until: str | None = None
    min_importance: float | None = None
    limit: int | None = None
    order: str | None = None


@dataclasses.dataclass
class RegisterAgentRequest:
    name: str
    description: str | None = None
    config: dict | None = None


@dataclasses.dataclass
class CreateSessionRequest:
    agent_id: str
    metadata: dict | None = None


@dataclasses.dataclass
class ContextOptions:
    max_tokens: int | None = None
    include_types: list | None = None
    since: str | None = None


def _plain(req: Any) -> dict:
    """A request as JSON fields, without the ones left out (the SDK's model_dump(exclude_none=True))."""
    if req is None:
        return {}
    if dataclasses.is_dataclass(req):
        req = dataclasses.asdict(req)
    return {k: v for k, v in dict(req).items() if v is not None}


class Memtrace:
    """Synchronous client for the Memtrace API: Memtrace("http://localhost:9100", "mtk_...")."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT):
        self._base = base_url.rstrip("/")
        self._headers = {"x-api-key": api_key, "Content-Type": "application/json"}
        self._timeout = timeout

    def close(self) -> None:
        pass

    def __enter__(self) -> "Memtrace":
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        url = self._base + path
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                text = response.read().decode()
                return _records(json.loads(text)) if text else None
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                message = json.loads(text).get("error", "")
            except (ValueError, AttributeError):
                message = text
            message = message or f"HTTP {e.code}"
            kind = {401: AuthenticationError, 404: NotFoundError, 409: ConflictError}.get(e.code)
            if kind:
                raise kind(message, e.code) from None
            raise MemtraceError(message, e.code) from None

    # --- convenience ---

    def remember(self, agent_id: str, content: str, session_id: str | None = None) -> Record:
        return self.add_memory(AddMemoryRequest(agent_id=agent_id, content=content, memory_type="episodic",
                                                event_type="general", session_id=session_id))

    def recall(self, agent_id: str, since: str = "24h") -> Record:
        return self.list_memories(ListOptions(agent_id=agent_id, since=since, order="desc", limit=100))

    def decide(self, agent_id: str, decision: str, reasoning: str, session_id: str | None = None) -> Record:
        return self.add_memory(AddMemoryRequest(agent_id=agent_id, content=decision, memory_type="decision",
                                                event_type="decision", session_id=session_id,
                                                metadata={"reasoning": reasoning}))

    # --- memories ---

    def add_memory(self, req: Any) -> Record:
        return self._call("POST", "/api/v1/memories", _plain(req))

    def add_memories(self, memories: list) -> list:
        return self._call("POST", "/api/v1/memories", {"memories": [_plain(m) for m in memories]})["memories"]

    def list_memories(self, opts: Any) -> Record:
        return self._call("GET", "/api/v1/memories", params=_plain(opts))

    def get_memory(self, memory_id: str) -> Record:
        return self._call("GET", "/api/v1/memories/" + urllib.parse.quote(memory_id, safe=""))

    def search_memories(self, query: Any) -> Record:
        return self._call("POST", "/api/v1/search", _plain(query))

    # --- agents ---

    def register_agent(self, req: Any) -> Record:
        return self._call("POST", "/api/v1/agents", _plain(req))

    def get_agent(self, agent_id: str) -> Record:
        return self._call("GET", "/api/v1/agents/" + urllib.parse.quote(agent_id, safe=""))

    def get_agent_stats(self, agent_id: str) -> Record:
        return self._call("GET", "/api/v1/agents/" + urllib.parse.quote(agent_id, safe="") + "/stats")

    # --- sessions ---

    def create_session(self, req: Any) -> Record:
        return self._call("POST", "/api/v1/sessions", _plain(req))

    def get_session(self, session_id: str) -> Record:
        return self._call("GET", "/api/v1/sessions/" + urllib.parse.quote(session_id, safe=""))

    def get_session_context(self, session_id: str, opts: Any = None) -> Record:
        return self._call("POST", "/api/v1/sessions/" + urllib.parse.quote(session_id, safe="") + "/context",
                          _plain(opts))

    def list_sessions(self, agent_id: str | None = None) -> Record:
        return self._call("GET", "/api/v1/sessions", params={"agent_id": agent_id} if agent_id else None)

    def search_sessions(self, filters: dict) -> Record:
        """Sessions by metadata (every key/value must match), status and agent_id, newest first."""
        params = {k: v for k, v in filters.items() if k != "metadata" and v is not None}
        if filters.get("metadata"):
            params["metadata"] = json.dumps(filters["metadata"])
        return self._call("GET", "/api/v1/sessions", params=params)

    def close_session(self, session_id: str) -> Record:
        return self._call("PUT", "/api/v1/sessions/" + urllib.parse.quote(session_id, safe=""),
                          {"status": "closed"})
