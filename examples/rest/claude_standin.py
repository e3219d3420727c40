"""Claude, or a scripted stand-in for it when ANTHROPIC_API_KEY is not set (CI, offline runs).

The stand-in answers client.messages.create(...) like the Anthropic SDK does (content blocks with
.type/.text/.name/.input/.id, and .stop_reason), from a script: a function of the system prompt and the
messages so far that returns the next turn's blocks. Scripts read the tool results and the system prompt
they are given, so what they say depends on what memtrace-mcp actually returned.
"""

from __future__ import annotations

import itertools
import os
from types import SimpleNamespace

MODEL = "claude-sonnet-4-20250514"


def text(value: str) -> dict:
    return {"type": "text", "text": value}


def tool(name: str, **arguments) -> dict:
    return {"type": "tool_use", "name": name, "input": arguments}


def tool_results(messages: list) -> list[str]:
    """The contents of every tool_result sent back so far, oldest first."""
    out = []
    for message in messages:
        if message["role"] == "user" and isinstance(message["content"], list):
            out += [block["content"] for block in message["content"] if block.get("type") == "tool_result"]
    return out


class ScriptedClaude:
    def __init__(self, script):
        self._script = script
        self._ids = itertools.count(1)
        self.messages = self

    def create(self, model=None, system="", messages=(), tools=None, max_tokens=None, **_):
        blocks = []
        for block in self._script(system, list(messages)):
            block = dict(block)
            if block["type"] == "tool_use":
                block["id"] = f"toolu_{next(self._ids):04d}"
            blocks.append(SimpleNamespace(**block))
        stop = "tool_use" if any(b.type == "tool_use" for b in blocks) else "end_turn"
        return SimpleNamespace(content=blocks, stop_reason=stop)


def claude(script):
    """anthropic.Anthropic() when ANTHROPIC_API_KEY is set, else the scripted stand-in."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        import anthropic  # only needed for the real thing

        return anthropic.Anthropic()
    return ScriptedClaude(script)


def scripted() -> bool:
    return not os.environ.get("ANTHROPIC_API_KEY")
