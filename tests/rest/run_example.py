#!/usr/bin/env python3
"""Runs one examples/rest program against a real memtrace-mcp: a fresh SQLite store in a temp dir, an
API key created with `keys create`, the server on a free loopback port (--listen 127.0.0.1:0, the bound
port read from its log), then the program with MEMTRACE_URL/MEMTRACE_API_KEY pointing at it and the
scripted Claude stand-in. The program's exit status is this script's; the server is always stopped.

usage: run_example.py MEMTRACE_MCP_BINARY EXAMPLE.py
"""

import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading

START_DEADLINE_S = 30
EXAMPLE_DEADLINE_S = 120


def main():
    binary, example = sys.argv[1], os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix="memtrace-rest-") as tmp:
        store = f"sqlite:{tmp}/memtrace.db"
        created = subprocess.run([binary, "--store", store, "keys", "create", "--namespace", "rest-examples"],
                                 capture_output=True, text=True, timeout=30, check=True)
        key = created.stdout.splitlines()[0].strip()
        server = subprocess.Popen([binary, "--transport", "http", "--listen", "127.0.0.1:0", "--store", store,
                                   "--require-auth"], stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        lines = queue.Queue()
        log = []

        def pump():
            for line in server.stderr:
                log.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        try:
            port = None
            while port is None:
                line = lines.get(timeout=START_DEADLINE_S)
                if line is None:
                    raise RuntimeError("memtrace-mcp exited before listening:\n" + "".join(log))
                found = re.search(r"listening on http://[^ ]*:(\d+)/mcp", line)
                if found:
                    port = int(found.group(1))
            env = dict(os.environ, MEMTRACE_URL=f"http://127.0.0.1:{port}", MEMTRACE_API_KEY=key)
            env.pop("ANTHROPIC_API_KEY", None)  # CI runs the scripted stand-in, never a paid model
            result = subprocess.run([sys.executable, example], env=env, cwd=os.path.dirname(example),
                                    timeout=EXAMPLE_DEADLINE_S)
            if result.returncode != 0:
                print("memtrace-mcp log:\n" + "".join(log), file=sys.stderr)
            return result.returncode
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


if __name__ == "__main__":
    sys.exit(main())
