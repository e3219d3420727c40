#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/<harness>/). The files are committed;
run this again after changing it (it rewrites only the seeds it names, so crash reproductions added by hand
stay). Standard library only."""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def write(harness, name, data):
    if isinstance(data, str):
        data = data.encode()
    directory = os.path.join(HERE, "corpus", harness)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def line(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def call(i, tool, args):
    return line({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": tool, "arguments": args}})


def deep_object(levels):  # the deep-nesting reproduction, at a size fit for a corpus (64 is the limit)
    return '{"jsonrpc":"2.0","id":1,"method":"ping","params":' + '{"a":' * levels + "1" + "}" * (levels + 1)


def deep_array(levels):
    return '{"jsonrpc":"2.0","id":2,"method":"ping","params":' + "[" * levels + "]" * levels + "}"


LONG_TTL = "1" * 30000 + "d"  # the ttl/lease reproduction: 30,000 digits

# ---- stdio_jsonrpc_fuzz: stdin bytes ----------------------------------------------------------------
H = "stdio_jsonrpc_fuzz"
write(H, "ping", '{"jsonrpc":"2.0","id":1,"method":"ping"}\n')
write(H, "initialize", line({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                             "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                                        "clientInfo": {"name": "c", "version": "1"}}}) + "\r\n")
write(H, "batch", '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"n"},'
                  '{"jsonrpc":"2.0","id":"x","result":{}}]\n[]\n[1,2]\n')
write(H, "ids", '{"jsonrpc":"2.0","id":1.0,"method":"a"}\n{"jsonrpc":"2.0","id":1.5,"method":"a"}\n'
                '{"jsonrpc":"2.0","id":null,"method":"a"}\n{"jsonrpc":"2.0","id":99999999999999999999,"method":"a"}\n'
                '{"jsonrpc":"2.0","id":"s\\u0000","method":"a"}\n{"jsonrpc":"1.0","id":3,"method":"a"}\n')
write(H, "garbage", '{"jsonrpc":\n\n  \r\n\xff\xfe{"id":7,"method"\n{"jsonrpc":"2.0","id":"\\ud800","method":"x"}')
write(H, "responses", '{"jsonrpc":"2.0","id":5,"error":{"code":-1,"message":"m"}}\n{"jsonrpc":"2.0","id":5,"result":null}\n')
write(H, "deep_object", deep_object(3000) + "\n")
write(H, "deep_array", deep_array(5000) + "\n")
write(H, "deep_batch", "[" * 4000 + "]" * 4000 + "\n")
write(H, "oversized", '{"jsonrpc":"2.0","id":"big","method":"ping","params":{"p":"' + "x" * 40000 + '"}}\n'
                      '{"jsonrpc":"2.0","id":2,"method":"ping"}')
write(H, "no_final_newline", '{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}')

# ---- mcp_dispatch_fuzz: JSON-RPC lines after initialize ----------------------------------------------
H = "mcp_dispatch_fuzz"
tools = {
    "remember": [call(1, "memtrace_remember", {"content": "the customer prefers email", "tags": ["pref"],
                                               "importance": 0.8, "type": "fact", "ttl": "7d",
                                               "metadata": {"k": 1}, "idempotency_key": "k1"}),
                 call(2, "memtrace_recall", {"since": "4h", "limit": 5}),
                 call(3, "memtrace_search", {"content_contains": "email", "tags": ["pref"], "min_importance": 0.5,
                                             "since": "2026-11-01T00:00:00Z", "until": "2027-01-01", "limit": 10})],
    "decide": [call(1, "memtrace_decide", {"decision": "use sqlite", "reasoning": "simple", "tags": ["db"]}),
               call(2, "memtrace_session_context", {"max_tokens": 50, "since": "1d", "types": ["decision"]})],
    "forget": [call(1, "memtrace_forget", {"id": "01JD0000000000000000000000"}),
               call(2, "memtrace_forget", {"id": "not-an-id"})],
    "sessions": [call(1, "memtrace_session_create", {"metadata": {"account_id": "42"}, "resume": True}),
                 call(2, "memtrace_session_search", {"metadata": {"account_id": "42"}, "status": "active", "limit": 3}),
                 call(3, "memtrace_session_close", {}),
                 call(4, "memtrace_session_context", {"session_id": "fuzz-session"})],
    "tasks": [call(1, "memtrace_agent_register", {"name": "worker", "description": "d"}),
              call(2, "memtrace_claim_task", {"task_id": "t1", "lease": "30m"}),
              call(3, "memtrace_share_result", {"task_id": "t1", "result": "done", "release": True, "token": 1}),
              call(4, "memtrace_claim_task", {"task_id": "t1"}),
              call(5, "memtrace_release_task", {"task_id": "t1", "token": 2}),
              call(6, "memtrace_task_reopen", {"task_id": "t1"})],
    "changes": [call(1, "memtrace_remember", {"content": "a"}),
                call(2, "memtrace_changes", {"limit": 10}),
                call(3, "memtrace_changes", {"cursor": "1", "kinds": ["memory"], "session_id": "fuzz-session"}),
                call(4, "memtrace_changes", {"cursor": "99999999999999999999"})],
    "supersede": [call(1, "memtrace_remember", {"content": "old"}),
                  call(2, "memtrace_remember", {"content": "new", "supersedes": ["01JD0000000000000000000000"]}),
                  call(3, "memtrace_recall", {"include_superseded": True, "cursor": "01JD0000000000000000000000"})],
    "protocol": [line({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
                 line({"jsonrpc": "2.0", "id": 2, "method": "resources/list"}),
                 line({"jsonrpc": "2.0", "id": 3, "method": "resources/templates/list"}),
                 line({"jsonrpc": "2.0", "id": 4, "method": "resources/read",
                       "params": {"uri": "memtrace://sessions/fuzz-session/context"}}),
                 line({"jsonrpc": "2.0", "id": 5, "method": "resources/read", "params": {"uri": "memtrace://tasks/t1"}}),
                 line({"jsonrpc": "2.0", "id": 6, "method": "resources/subscribe",
                       "params": {"uri": "memtrace://sessions/fuzz-session"}}),
                 line({"jsonrpc": "2.0", "id": 7, "method": "prompts/list"}),
                 line({"jsonrpc": "2.0", "id": 8, "method": "prompts/get",
                       "params": {"name": "memtrace_context", "arguments": {"session_id": "s", "since": "1h"}}}),
                 line({"jsonrpc": "2.0", "id": 9, "method": "completion/complete",
                       "params": {"ref": {"type": "ref/prompt", "name": "memtrace_context"},
                                  "argument": {"name": "session_id", "value": "f"}}}),
                 line({"jsonrpc": "2.0", "id": 10, "method": "logging/setLevel", "params": {"level": "debug"}}),
                 line({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}}),
                 line({"jsonrpc": "2.0", "id": 11, "method": "ping"}),
                 line([{"jsonrpc": "2.0", "id": 12, "method": "ping"}]),
                 line({"jsonrpc": "2.0", "id": 13, "method": "initialize", "params": {}})],
    "bad_arguments": [call(1, "memtrace_remember", {}),
                      call(2, "memtrace_remember", {"content": 5, "importance": 2}),
                      call(3, "memtrace_remember", {"content": "x", "extra": True}),
                      call(4, "memtrace_recall", {"limit": -1}),
                      call(5, "memtrace_nope", {}),
                      line({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "memtrace_recall",
                                                                                        "arguments": [1]}}),
                      line({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {}}),
                      call(8, "memtrace_session_context", {"max_tokens": 0}),
                      call(9, "memtrace_recall", {"since": "-5m"})],
    # The reproductions of issue 12: a 30,000-digit ttl and lease, and limit 200.0.
    "long_ttl": [call(1, "memtrace_remember", {"content": "x", "ttl": LONG_TTL})],
    "long_lease": [call(1, "memtrace_claim_task", {"task_id": "t", "lease": LONG_TTL})],
    "limit_float": [call(1, "memtrace_recall", {"limit": 200.0}),
                    call(2, "memtrace_search", {"limit": 200.0}),
                    call(3, "memtrace_session_search", {"limit": 200.0}),
                    call(4, "memtrace_changes", {"limit": 200.0}),
                    call(5, "memtrace_session_context", {"max_tokens": 2000.0})],
    "deep_params": [deep_object(3000), deep_array(5000),
                    '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"memtrace_remember","arguments":'
                    '{"content":"x","metadata":' + '{"a":' * 2000 + "1" + "}" * 2000 + "}}}"],
}
for name, lines in tools.items():
    write(H, name, "\n".join(lines) + "\n")

# ---- http_request_fuzz: raw HTTP/1.1 requests (up to 8 per input; @SID@ = the newest session) --------
H = "http_request_fuzz"


def req(method, target, body=None, headers=None, host="127.0.0.1:8765"):
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    body_bytes = b""
    if body is not None:
        body_bytes = body.encode() if isinstance(body, str) else body
        lines.append(f"Content-Length: {len(body_bytes)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body_bytes


MCP = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
SID = dict(MCP, **{"Mcp-Session-Id": "@SID@", "MCP-Protocol-Version": "2025-11-25"})
INIT = line({"jsonrpc": "2.0", "id": 0, "method": "initialize",
             "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "c", "version": "1"}}})
INITIALIZED = line({"jsonrpc": "2.0", "method": "notifications/initialized"})
write(H, "streamable_session",
      req("POST", "/mcp", INIT, MCP) + req("POST", "/mcp", INITIALIZED, SID)
      + req("POST", "/mcp", call(1, "memtrace_remember", {"content": "hello", "ttl": "1h"}), SID)
      + req("POST", "/mcp", call(2, "memtrace_recall", {"limit": 200.0}), SID)
      + req("GET", "/mcp", None, {"Accept": "text/event-stream", "Mcp-Session-Id": "@SID@"})
      + req("DELETE", "/mcp", None, {"Mcp-Session-Id": "@SID@"}))
write(H, "streamable_reproductions",
      req("POST", "/mcp", INIT, MCP) + req("POST", "/mcp", INITIALIZED, SID)
      + req("POST", "/mcp", call(1, "memtrace_remember", {"content": "x", "ttl": "1" * 3000 + "d"}), SID)
      + req("POST", "/mcp", call(2, "memtrace_claim_task", {"task_id": "t", "lease": "1" * 3000 + "d"}), SID)
      + req("POST", "/mcp", deep_object(3000), SID))
write(H, "legacy_sse",
      req("GET", "/sse", None, {"Accept": "text/event-stream"})
      + req("POST", "/message?sessionId=@SID@", INIT, {"Content-Type": "application/json"})
      + req("POST", "/message?sessionId=@SID@", call(1, "memtrace_session_context", {}), {"Content-Type": "application/json"}))
write(H, "probes", req("GET", "/healthz") + req("GET", "/metrics") + req("GET", "/health") + req("GET", "/ready")
      + req("OPTIONS", "/mcp", None, {"Origin": "http://localhost:8765"}))
write(H, "rest",
      req("POST", "/api/v1/memories", line({"content": "c", "tags": ["t"]}), {"Content-Type": "application/json"})
      + req("GET", "/api/v1/memories?limit=5&since=1h&cursor=x") + req("POST", "/api/v1/search", line({"query": "c"}),
                                                                        {"Content-Type": "application/json"})
      + req("POST", "/api/v1/sessions", line({"metadata": {"a": "1"}}), {"Content-Type": "application/json"})
      + req("GET", "/api/v1/sessions?status=active") + req("POST", "/api/v1/agents", line({"name": "w"}),
                                                           {"Content-Type": "application/json"})
      + req("GET", "/api/v1/agents/w/stats") + req("DELETE", "/api/v1/agents/w"))
write(H, "refusals",
      req("POST", "/mcp", INIT, MCP, host="evil.example.com")
      + req("POST", "/mcp", INIT, dict(MCP, Origin="http://evil.example.com"))
      + req("POST", "/mcp", INIT, {"Accept": "text/html", "Content-Type": "application/json"})
      + req("POST", "/mcp", "[]", MCP) + req("POST", "/mcp", "{", MCP)
      + req("GET", "/mcp%zz?x=%", None) + req("POST", "/mcp", INIT, dict(MCP, Authorization="Bearer revoked"))
      + req("POST", "/mcp", INIT, dict(MCP, Authorization="Basic dXNlcjpwdw==")))
# The harness binds any Bearer key but "revoked" to the input's own namespace: a keyed session and REST call.
KEY = {"Authorization": "Bearer mtk_fuzz"}
write(H, "keyed_session",
      req("POST", "/mcp", INIT, dict(MCP, **KEY)) + req("POST", "/mcp", INITIALIZED, dict(SID, **KEY))
      + req("POST", "/mcp", call(1, "memtrace_remember", {"content": "keyed", "tags": ["k"]}), dict(SID, **KEY))
      + req("POST", "/mcp", call(2, "memtrace_search", {"query": "keyed"}), dict(SID, **{"X-Api-Key": "mtk_fuzz"}))
      + req("GET", "/api/v1/memories?limit=5", None, KEY)
      + req("POST", "/mcp", call(3, "memtrace_recall", {}), SID))
write(H, "chunked_and_continue",
      b"POST /mcp HTTP/1.1\r\nHost: localhost:8765\r\nAccept: application/json, text/event-stream\r\n"
      b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
      + f"{len(INIT):x}\r\n".encode() + INIT.encode() + b"\r\n0\r\n\r\n")
write(H, "http10_and_junk", b"GET /healthz HTTP/1.0\r\n\r\nGARBAGE\r\n\r\n")

# ---- time_text_fuzz: a duration, an instant or a cursor ---------------------------------------------
H = "time_text_fuzz"
for i, text in enumerate(["30s", "15m", "4h", "7d", "2w", "0s", "-1d", "+1d", "5200w", "876000h",
                          "2026-11-20", "2026-11-20T10:00:00Z", "2026-11-20T10:00:00.250+02:00",
                          "2026-11-20 10:00:00,5-23:59", "2026-02-31T23:59:60Z", "0000-01-01T00:00:00Z",
                          "9999-12-31T23:59:59.999Z", "2026-11-20T10:00", "12345", "999999999999999999",
                          "01JD0000000000000000000000", "9223372036854775807d", "1" * 30000 + "d",
                          "1" * 30000 + "w", "2026-11-20T10:00:00." + "9" * 5000 + "Z"]):
    write(H, f"seed_{i:02d}", text)

# ---- context_render_fuzz: bytes for FuzzedDataProvider ---------------------------------------------
H = "context_render_fuzz"
rng = random.Random(12)
for i, n in enumerate([16, 64, 256, 1024, 4096, 16384]):
    write(H, f"random_{i}", bytes(rng.randrange(256) for _ in range(n)))
# Mostly printable text with some UTF-8, so that contents look like contents.
sample = "Kunde bevorzugt E-Mail. 路由器 ✓ 🚀 decision: use sqlite\n\t".encode()
for i, n in enumerate([512, 4096, 20000]):
    write(H, f"text_{i}", bytes(sample[rng.randrange(len(sample))] for _ in range(n)))
