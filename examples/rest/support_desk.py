#!/usr/bin/env python3
"""The guide's three-bot support desk (Internet, TV, Billing) without Telegram: each customer message
goes to one bot, which finds the customer's active session by account_id metadata (or creates it), reads
the cross-department context, runs Claude with the memory tools, and stores the exchange with its own
agent id. A restarted bot resumes the same session. Exits 1 naming the first failed expectation.

MEMTRACE_URL, MEMTRACE_API_KEY as in the guide; ANTHROPIC_API_KEY for Claude, else a scripted stand-in.
"""

import os
import sys

from claude_standin import MODEL, claude as make_claude, scripted, text, tool, tool_results
from memory_tools import MEMTRACE_TOOLS, run_loop
from memtrace import ContextOptions, CreateSessionRequest, Memtrace, RegisterAgentRequest

BOTS = {
    "internet-support": "Internet Support",
    "tv-support": "TV Support",
    "billing": "Billing",
}
CUSTOMERS = {"TC-100001": "Nacho Bassino", "TC-100002": "Maria Garcia"}


def bot_script(department):
    def script(system, messages):
        seen = tool_results(messages)
        others = [d for d in ("internet-support", "tv-support") if d in system and d != department]
        if department == "billing":
            if not seen:
                return [tool("memtrace_decide", decision="Credit $20 on the next bill",
                             reasoning="Internet outage and missing TV channels reported to other departments")]
            return [text("I have applied a $20 credit to your next bill for the trouble.")]
        if not seen:
            return [tool("memtrace_remember", content=f"Customer reports: {messages[0]['content']}",
                         tags=[department, "issue"], importance=0.7)]
        note = f" I see you also spoke with our {', '.join(others)} team." if others else ""
        return [text(f"{BOTS[department]} here: I have logged your issue ({messages[0]['content']}).{note}")]
    return script


def find_or_create_session(memtrace, bot_agent_id, customer_id):
    sessions = memtrace.search_sessions({
        "metadata": {"account_id": customer_id},
        "status": "active",
    })
    if sessions.sessions:
        return sessions.sessions[0]
    return memtrace.create_session(CreateSessionRequest(
        agent_id=bot_agent_id,
        metadata={"account_id": customer_id, "channel": "telegram"},
    ))


def handle_message(memtrace, bot_agent_id, customer_id, customer_message):
    session = find_or_create_session(memtrace, bot_agent_id, customer_id)
    ctx = memtrace.get_session_context(session.id)
    messages = [{"role": "user", "content": customer_message}]
    response_text = run_loop(make_claude(bot_script(bot_agent_id)), memtrace,
                             f"You are {BOTS[bot_agent_id]} support.\n\n{ctx.context}", messages,
                             bot_agent_id, session.id, shared_session=True)
    memtrace.remember(bot_agent_id, f"Customer: {customer_message}", session_id=session.id)
    memtrace.remember(bot_agent_id, f"Response: {response_text}", session_id=session.id)
    return session, response_text


def expect(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main():
    url = os.environ.get("MEMTRACE_URL", "http://localhost:9100")
    key = os.environ.get("MEMTRACE_API_KEY", "mtk_...")
    memtrace = Memtrace(url, key)
    for name, department in BOTS.items():
        agent = memtrace.register_agent(RegisterAgentRequest(name=name, description=f"TeleCo {department}"))
        expect(agent.id == name, f"agent registered as {name}: {agent}")

    first, reply = handle_message(memtrace, "internet-support", "TC-100001", "My internet is slow")
    print(f"[internet-support] {reply}")
    second, reply = handle_message(memtrace, "tv-support", "TC-100001", "HBO is gone from my TV")
    print(f"[tv-support] {reply}")
    expect(second.id == first.id, "the TV bot found the customer's session by account_id")
    if scripted():
        expect("internet-support" in reply, f"the TV bot saw the internet bot's memories: {reply!r}")

    # Billing restarts (a new client, nothing kept in process) and still resumes the same session.
    billing = Memtrace(url, key)
    third, reply = handle_message(billing, "billing", "TC-100001", "Can I get a credit?")
    print(f"[billing] {reply}")
    expect(third.id == first.id, "a restarted bot resumes the customer's session")

    other, _ = handle_message(memtrace, "internet-support", "TC-100002", "No connection at all")
    expect(other.id != first.id, "another customer gets another session")

    session = memtrace.get_session(first.id)
    expect(sorted(session.agents) == sorted(BOTS), f"all three bots wrote into the session: {session.agents}")
    expect(session.metadata == {"account_id": "TC-100001", "channel": "telegram"}, f"metadata: {session}")
    ctx = memtrace.get_session_context(first.id)
    if scripted():
        expect("Credit $20 on the next bill" in ctx.context and "Internet outage" in ctx.context,
               f"the decision and its reasoning are in the context:\n{ctx.context}")
        recalled = memtrace.list_memories({"session_id": first.id, "since": "24h"})
        expect(recalled.count == 9, f"2 issues + 6 exchange lines + 1 decision, got {recalled.count}")
    memtrace.close_session(first.id)
    active = memtrace.search_sessions({"metadata": {"account_id": "TC-100001"}, "status": "active"})
    expect(active.count == 0, "a closed session is no longer found as active")
    print("support-desk: ok")


if __name__ == "__main__":
    main()
