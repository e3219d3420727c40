// Interop test: the official MCP TypeScript SDK client drives memtrace-mcp over Streamable HTTP and over
// the legacy HTTP+SSE transport: list tools, call every memtrace tool, read a context resource, and
// receive resources/updated (on the GET stream for Streamable HTTP, on the SSE stream for legacy). Over
// Streamable HTTP it also cancels a call that is waiting on the client's sampling: the sampling request is
// withdrawn, and the call's stream ends without the client reconnecting or reporting an error.
//
// usage: node http_sdk_client.mjs /path/to/memtrace-mcp [--transports http,sse] [--verbose]
// Starts the server itself on a free loopback port (--listen 127.0.0.1:0) and stops it with SIGTERM.
// Exit status 0 when every check passed, 1 otherwise. Run tests/interop/install.sh first.
import { spawn } from 'node:child_process';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const TIMEOUT_MS = 10_000;
const CONTEXT_URI = 'memtrace://sessions/current/context';

// Arguments for the tools whose inputs we know; any other memtrace tool gets "x" for each required string.
const KNOWN_ARGS = {
  memtrace_remember: { content: 'the HTTP interop test ran', tags: ['interop'], importance: 0.6 },
  memtrace_recall: { since: '1h' },
  memtrace_search: { content_contains: 'interop' },
  memtrace_decide: { decision: 'use Streamable HTTP', reasoning: 'it is the current transport' },
  memtrace_agent_register: { name: 'http-interop', description: 'the SDK interop test' },
  memtrace_session_context: {},
  memtrace_session_search: {},
  memtrace_claim_task: { task_id: 'interop-task' },
  memtrace_share_result: { task_id: 'interop-task', result: 'done' },
  memtrace_release_task: { task_id: 'interop-task' },
};
// Called last, in this order: forget needs a memory id; closing the session ends the writes.
const LAST = ['memtrace_forget', 'memtrace_session_create', 'memtrace_session_close'];

let passed = 0;
let failed = 0;
const verbose = process.argv.includes('--verbose') || process.argv.includes('-v');
function check(name, ok, detail) {
  if (ok) {
    passed++;
    if (verbose) console.log(`PASS ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ''}`);
  }
}

function startServer(binary) {
  return new Promise((resolve, reject) => {
    const args = ['--transport', 'http', '--listen', '127.0.0.1:0', '--store', 'memory', '--conformance-fixtures'];
    const child = spawn(binary, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`server did not listen:\n${log}`)), 30_000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), log: () => log });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}):\n${log}`)));
  });
}

function argsFor(tool, memoryId, kind) {
  if (tool.name === 'memtrace_forget') return { id: memoryId };
  if (tool.name === 'memtrace_session_create') return { metadata: { interop: 'http' } };
  if (tool.name === 'memtrace_session_close') return {};
  // A task shared once is done: each transport works on a task of its own.
  if (KNOWN_ARGS[tool.name]?.task_id) return { ...KNOWN_ARGS[tool.name], task_id: `interop-task-${kind}` };
  if (KNOWN_ARGS[tool.name]) return KNOWN_ARGS[tool.name];
  const args = {};
  for (const key of tool.inputSchema?.required ?? []) args[key] = 'x';
  return args;
}

async function exercise(kind, port) {
  const client = new Client({ name: `http-interop-${kind}`, version: '1.0.0' }, { capabilities: {} });
  const transport = kind === 'http'
    ? new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`))
    : new SSEClientTransport(new URL(`http://127.0.0.1:${port}/sse`));
  const updates = [];
  let notify;
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    updates.push(n.params.uri);
    if (notify) notify();
  });
  const options = { timeout: TIMEOUT_MS };
  await client.connect(transport);
  check(`${kind}: connected`, true);
  if (kind === 'http') {
    check(`${kind}: session id`, typeof transport.sessionId === 'string' && transport.sessionId.length > 0);
  }

  const { tools } = await client.listTools(undefined, options);
  const names = tools.map((t) => t.name);
  const core = ['memtrace_remember', 'memtrace_recall', 'memtrace_search', 'memtrace_decide', 'memtrace_forget'];
  for (const name of core) {
    check(`${kind}: tools/list has ${name}`, names.includes(name), names.join(','));
  }

  // Watch the current session's context, then write: the update arrives without polling.
  await client.subscribeResource({ uri: CONTEXT_URI }, options);
  const updated = new Promise((resolve) => {
    notify = resolve;
    setTimeout(resolve, TIMEOUT_MS);
  });

  const memtrace = tools.filter((t) => t.name.startsWith('memtrace_'));
  const ordered = [
    ...memtrace.filter((t) => t.name === 'memtrace_remember'),
    ...memtrace.filter((t) => t.name !== 'memtrace_remember' && !LAST.includes(t.name)),
    ...LAST.map((n) => memtrace.find((t) => t.name === n)).filter(Boolean),
  ];
  let memoryId;
  for (const tool of ordered) {
    try {
      const call = { name: tool.name, arguments: argsFor(tool, memoryId, kind) };
      const result = await client.callTool(call, undefined, options);
      const known = tool.name in KNOWN_ARGS || LAST.includes(tool.name);
      const wellFormed = Array.isArray(result.content) && result.content.length > 0;
      check(`${kind}: tools/call ${tool.name}`, wellFormed && (!known || !result.isError),
        JSON.stringify(result).slice(0, 300));
      if (tool.name === 'memtrace_remember') memoryId = result.structuredContent?.id;
    } catch (e) {
      check(`${kind}: tools/call ${tool.name}`, false, e.message);
    }
    if (tool.name === 'memtrace_remember') {
      await updated;
      check(`${kind}: resources/updated for ${CONTEXT_URI}`, updates.includes(CONTEXT_URI),
        JSON.stringify(updates));
    }
  }

  const read = await client.readResource({ uri: CONTEXT_URI }, options);
  const text = read.contents?.[0]?.text ?? '';
  check(`${kind}: resources/read ${CONTEXT_URI}`, text.length > 0, JSON.stringify(read).slice(0, 300));

  if (kind === 'http') await transport.terminateSession();
  await client.close();
}

function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Cancels a call (test_sampling, a conformance fixture) while it waits on the client's sampling.
async function cancelOverHttp(port) {
  const errors = [];
  const resumes = [];
  let resumed;
  const resumedOnce = new Promise((resolve) => { resumed = resolve; });
  // Sees the GET + Last-Event-ID the SDK sends when a stream ends without an answer.
  const spy = async (url, init) => {
    const response = await fetch(url, init);
    if ((init?.method ?? 'GET') === 'GET' && new Headers(init?.headers).has('last-event-id')) {
      resumes.push(response.status);
      resumed();
    }
    return response;
  };
  const client = new Client({ name: 'http-interop-cancel', version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.onerror = (e) => errors.push(e.message);
  let asked;
  let withdrawn;
  const askedOnce = new Promise((resolve) => { asked = resolve; });
  const withdrawnOnce = new Promise((resolve) => { withdrawn = resolve; });
  client.setRequestHandler(CreateMessageRequestSchema, (_request, extra) => new Promise((resolve) => {
    asked();
    extra.signal.addEventListener('abort', () => {
      withdrawn();
      resolve({ role: 'assistant', model: 'none', content: { type: 'text', text: 'too late' } });
    });
  }));
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { fetch: spy });
  await client.connect(transport);

  const stop = new AbortController();
  const call = client.callTool({ name: 'test_sampling', arguments: { prompt: 'never answered' } }, undefined,
    { signal: stop.signal, timeout: TIMEOUT_MS });
  await within(askedOnce, 'the sampling request');
  stop.abort('the user pressed stop');
  check('http cancel: the call ends as cancelled', await call.then(() => false, () => true));
  await within(withdrawnOnce, 'the sampling request to be withdrawn').then(
    () => check('http cancel: the sampling request is withdrawn', true),
    (e) => check('http cancel: the sampling request is withdrawn', false, e.message));
  await within(resumedOnce, 'the SDK to resume the ended stream').then(
    () => check('http cancel: resuming the ended stream is 204 (do not reconnect)', resumes[0] === 204,
      JSON.stringify(resumes)),
    (e) => check('http cancel: resuming the ended stream is 204 (do not reconnect)', false, e.message));
  await client.ping({ timeout: TIMEOUT_MS });
  check('http cancel: one resume, no transport error', resumes.length === 1 && errors.length === 0,
    JSON.stringify({ resumes, errors }));
  await transport.terminateSession();
  await client.close();
}

async function main() {
  const binary = process.argv.slice(2).find((a) => !a.startsWith('-')) ?? process.env.MEMTRACE_BINARY;
  if (!binary) {
    console.error('usage: node http_sdk_client.mjs /path/to/memtrace-mcp [--transports http,sse]');
    process.exit(2);
  }
  const at = process.argv.indexOf('--transports');
  const kinds = at > 0 ? process.argv[at + 1].split(',') : ['http', 'sse'];
  const server = await startServer(binary);
  try {
    for (const kind of kinds) {
      try {
        await exercise(kind, server.port);
      } catch (e) {
        check(`${kind}: run`, false, e.stack ?? e.message);
      }
    }
    if (kinds.includes('http')) {
      try {
        await cancelOverHttp(server.port);
      } catch (e) {
        check('http cancel: run', false, e.stack ?? e.message);
      }
    }
  } finally {
    server.child.kill('SIGTERM');
    const code = await new Promise((resolve) => {
      if (server.child.exitCode !== null) return resolve(server.child.exitCode);
      const timer = setTimeout(() => { server.child.kill('SIGKILL'); resolve('killed'); }, 15_000);
      server.child.on('exit', (c) => { clearTimeout(timer); resolve(c); });
    });
    check('server exits 0 on SIGTERM', code === 0, `exit ${code}\n${server.log().slice(-2000)}`);
  }
  console.log(`http interop: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
