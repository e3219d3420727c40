"""The guide's four Memtrace tools for Claude and its handle_tool_calls, one for one."""

from __future__ import annotations

MEMTRACE_TOOLS = [
    {
        "name": "memtrace_remember",
        "description": "Store a memory for later recall",
        "input_schema": {
            "type": "object",
            "properties": {
                "content": {"type": "string", "description": "What to remember"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "importance": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["content"],
        },
    },
    {
        "name": "memtrace_recall",
        "description": "Retrieve recent memories",
        "input_schema": {
            "type": "object",
            "properties": {"since": {"type": "string", "description": "Time window (e.g. '2h', '24h')"}},
        },
    },
    {
        "name": "memtrace_search",
        "description": "Search memories with filters",
        "input_schema": {
            "type": "object",
            "properties": {
                "content_contains": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "min_importance": {"type": "number"},
            },
        },
    },
    {
        "name": "memtrace_decide",
        "description": "Log a decision with reasoning",
        "input_schema": {
            "type": "object",
            "properties": {
                "decision": {"type": "string", "description": "What was decided"},
                "reasoning": {"type": "string", "description": "Why this decision"},
            },
            "required": ["decision", "reasoning"],
        },
    },
]


def handle_tool_calls(memtrace, agent_id, session_id, response, shared_session=False):
    """Execute Memtrace tool calls and return results (the guide's handler; reads by session_id when
    given, writes with agent_id for attribution)."""
    results = []
    for block in response.content:
        if block.type != "tool_use":
            continue
        tool_name, tool_input = block.name, block.input
        if tool_name == "memtrace_remember":
            mem = memtrace.add_memory({
                "agent_id": agent_id,
                "session_id": session_id,
                "content": tool_input["content"],
                "tags": tool_input.get("tags", []),
                "importance": tool_input.get("importance", 0),
            })
            content = f"Stored memory: {mem.id}"
        elif tool_name == "memtrace_recall":
            memories = memtrace.list_memories({
                "agent_id": agent_id if not shared_session else None,
                "session_id": session_id,
                "since": tool_input.get("since", "24h"),
            })
            content = "\n".join([f"- {m.content}" for m in memories.memories])
        elif tool_name == "memtrace_search":
            memories = memtrace.search_memories({
                "agent_id": agent_id if not shared_session else None,
                "session_id": session_id if shared_session else None,
                "content_contains": tool_input.get("content_contains"),
                "tags": tool_input.get("tags"),
                "min_importance": tool_input.get("min_importance"),
            })
            content = "\n".join([f"- {m.content}" for m in memories.results])
        elif tool_name == "memtrace_decide":
            if shared_session:
                memtrace.decide(agent_id, tool_input["decision"], tool_input["reasoning"], session_id=session_id)
            else:
                memtrace.decide(agent_id, tool_input["decision"], tool_input["reasoning"])
            content = "Decision logged"
        else:
            content = f"Unknown tool: {tool_name}"
        results.append({"type": "tool_result", "tool_use_id": block.id, "content": content})
    return results


def run_loop(claude, memtrace, system, messages, agent_id, session_id, shared_session=False, rounds=10):
    """The guide's conversation loop: call Claude, run its tool calls, until it stops calling tools."""
    for _ in range(rounds):
        response = claude.messages.create(
            model="claude-sonnet-4-20250514",
            max_tokens=1024,
            system=system,
            tools=MEMTRACE_TOOLS,
            messages=messages,
        )
        messages.append({"role": "assistant", "content": response.content})
        if response.stop_reason == "tool_use":
            messages.append({"role": "user", "content": handle_tool_calls(
                memtrace, agent_id, session_id, response, shared_session)})
        else:
            return "".join(b.text for b in response.content if b.type == "text")
    raise RuntimeError("the model kept calling tools")
