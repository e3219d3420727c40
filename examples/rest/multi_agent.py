#!/usr/bin/env python3
"""The guide's multi-agent example: a researcher stores findings in a shared session, a summarizer
reads them through the session context and writes a report. Exits 1 naming the first failed expectation.

MEMTRACE_URL, MEMTRACE_API_KEY as in the guide; ANTHROPIC_API_KEY for Claude, else a scripted stand-in.
"""

import os
import sys

from claude_standin import MODEL, claude as make_claude, scripted, text, tool, tool_results
from memory_tools import run_loop
from memtrace import ContextOptions, CreateSessionRequest, Memtrace, RegisterAgentRequest

FINDINGS = [
    ("Time-series databases compress sequential data 10-20x", ["compression", "storage"], 0.8),
    ("Time-series databases answer range queries over time windows fast", ["queries", "performance"], 0.9),
    ("Downsampling and retention policies keep old data cheap", ["retention", "storage"], 0.6),
]


def researcher_script(system, messages):
    seen = tool_results(messages)
    if len(seen) < len(FINDINGS):
        content, tags, importance = FINDINGS[len(seen)]
        return [tool("memtrace_remember", content=content, tags=tags, importance=importance)]
    return [text(f"Stored {len(FINDINGS)} findings.")]


def summarizer_script(system, messages):
    # A report from what the context shows: every line attributed to the researcher.
    findings = [line.split(": ", 1)[1] for line in system.splitlines()
                if line.startswith("- ") and "researcher" in line and ": " in line]
    return [text("# Report: time-series databases\n" + "\n".join(f"* {f}" for f in findings))]


def expect(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main():
    memtrace = Memtrace(os.environ.get("MEMTRACE_URL", "http://localhost:9100"),
                        os.environ.get("MEMTRACE_API_KEY", "mtk_..."))

    # Create shared session
    session = memtrace.create_session(CreateSessionRequest(
        agent_id="researcher",
        metadata={"task": "research_and_summarize"},
    ))
    # Researcher agent
    researcher = memtrace.register_agent(RegisterAgentRequest(
        name="researcher",
        description="Investigates topics and stores findings",
    ))
    messages = [{"role": "user", "content": "Research the benefits of time-series databases"}]
    run_loop(make_claude(researcher_script), memtrace, "You are a researcher.", messages, researcher.id,
             session.id)

    # Summarizer agent
    summarizer = memtrace.register_agent(RegisterAgentRequest(
        name="summarizer",
        description="Reads research and creates reports",
    ))
    ctx = memtrace.get_session_context(session.id, ContextOptions())
    response = make_claude(summarizer_script).messages.create(
        model=MODEL,
        max_tokens=1024,
        system=f"You are a report writer.\n\n{ctx.context}",
        messages=[{"role": "user", "content": "Create a summary report"}],
    )
    report = response.content[0].text
    print(report)

    expect(summarizer.id == "summarizer", f"summarizer registered: {summarizer}")
    expect(ctx.memory_count >= len(FINDINGS) if scripted() else ctx.memory_count >= 1,
           f"the context lists the researcher's findings: {ctx}")
    if scripted():
        for content, _, _ in FINDINGS:
            expect(content in ctx.context, f"context carries {content!r}:\n{ctx.context}")
            expect(content in report, f"the summarizer read {content!r} from the shared session")
        found = memtrace.search_memories({"session_id": session.id, "tags": ["storage"]}).results
        expect(sorted(m.content for m in found) == sorted(c for c, t, _ in FINDINGS if "storage" in t),
               f"exact tag search over the shared session: {[m.content for m in found]}")
        # Memtrace matches tags as substrings of a CSV; here "stor" matches nothing.
        expect(memtrace.search_memories({"session_id": session.id, "tags": ["stor"]}).count == 0,
               "a tag matches exactly, not as a substring")
        small = memtrace.get_session_context(session.id, ContextOptions(max_tokens=40))
        expect(len(small.context.encode()) <= 160, f"max_tokens bounds the context: {len(small.context)} bytes")
    agents = memtrace.get_session(session.id).agents
    expect("researcher" in agents, f"the researcher wrote into the session: {agents}")
    print("multi-agent: ok")


if __name__ == "__main__":
    main()
