#!/usr/bin/env python3
"""The guide's single-agent example: register an agent, create a session, inject the prior context into
Claude's system prompt, converse with the four memory tools, close the session. Then checks what landed
in memtrace-mcp and exits 1 naming the first expectation that failed.

MEMTRACE_URL, MEMTRACE_API_KEY as in the guide; ANTHROPIC_API_KEY for Claude, else a scripted stand-in.
"""

import os
import sys

from claude_standin import claude as make_claude, scripted, text, tool, tool_results
from memory_tools import run_loop
from memtrace import ContextOptions, CreateSessionRequest, Memtrace, RegisterAgentRequest


def script(system, messages):
    seen = tool_results(messages)
    if len(seen) == 0:
        return [tool("memtrace_remember", content="User prefers dark mode", tags=["preference", "ui"],
                     importance=0.8)]
    if len(seen) == 1:
        return [tool("memtrace_recall", since="2h"), tool("memtrace_search", content_contains="dark mode",
                                                             tags=["ui"])]
    if len(seen) == 3:
        return [tool("memtrace_decide", decision="Render the UI in dark mode for this user",
                     reasoning="The user said they prefer dark mode")]
    recalled = seen[1]
    return [text(f"Got it, dark mode it is. What I remember about you:\n{recalled}")]


def expect(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main():
    memtrace = Memtrace(os.environ.get("MEMTRACE_URL", "http://localhost:9100"),
                        os.environ.get("MEMTRACE_API_KEY", "mtk_..."))
    claude = make_claude(script)

    agent = memtrace.register_agent(RegisterAgentRequest(
        name="assistant",
        description="Helpful AI assistant with memory",
    ))
    session = memtrace.create_session(CreateSessionRequest(
        agent_id=agent.id,
        metadata={"task": "conversation"},
    ))
    ctx = memtrace.get_session_context(session.id, ContextOptions(since="4h"))

    messages = [{"role": "user", "content": "I prefer dark mode"}]
    reply = run_loop(claude, memtrace, f"You are a helpful assistant.\n\n{ctx.context}", messages,
                     agent.id, session.id)
    print(reply)
    memtrace.close_session(session.id)

    # What the run left in memtrace-mcp.
    stored = memtrace.list_memories({"agent_id": agent.id, "session_id": session.id})
    contents = [m.content for m in stored.memories]
    expect(stored.count >= 1, f"the session holds the remembered preference, got {contents}")
    if scripted():
        expect(contents == ["User prefers dark mode"], f"one memory in the session, got {contents}")
        memory = stored.memories[0]
        expect(memory.tags == ["preference", "ui"], f"tags kept exactly, got {memory.tags}")
        expect(memory.importance == 0.8 and memory.memory_type == "episodic", f"importance and type: {memory}")
        expect(memtrace.get_memory(memory.id).content == memory.content, "GET /memories/:id finds it by id")
        expect("- User prefers dark mode" in reply, f"recall returned the memory to the model: {reply!r}")
        decisions = memtrace.list_memories({"agent_id": agent.id, "memory_type": "decision"}).memories
        expect(len(decisions) == 1, f"one decision logged, got {decisions}")
        expect(decisions[0].metadata["reasoning"] == "The user said they prefer dark mode",
               f"reasoning where the SDK reads it: {decisions[0]}")
        expect("session_id" not in decisions[0], "the guide's decide() names no session")
    expect(memtrace.get_session(session.id).status == "closed", "the session is closed")
    stats = memtrace.get_agent_stats(agent.id)
    expect(stats.memory_count >= 2 and stats.session_count >= 1, f"agent stats count the run: {stats}")
    print("single-agent: ok")


if __name__ == "__main__":
    main()
