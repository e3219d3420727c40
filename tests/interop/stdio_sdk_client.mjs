// Interop test: the official MCP TypeScript SDK client drives memtrace-mcp over stdio under every protocol
// version the server speaks, and checks negotiation, version-gated tool fields and all five memory tools.
//
// usage: node stdio_sdk_client.mjs /path/to/memtrace-mcp [--versions 2025-06-18,2025-11-25] [--verbose]
// Exit status 0 when every check passed, 1 otherwise (2 on bad usage). Run tests/interop/install.sh first.
import { readFileSync } from 'node:fs';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const ALL_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];
const TOOLS = [
  'memtrace_remember', 'memtrace_recall', 'memtrace_search', 'memtrace_decide', 'memtrace_forget',
];
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const REQUEST_TIMEOUT_MS = 10_000;

function parseArgs(argv) {
  const opts = { binary: process.env.MEMTRACE_BINARY, versions: ALL_VERSIONS, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--versions') opts.versions = argv[++i].split(',').map((v) => v.trim()).filter(Boolean);
    else if (a === '--verbose' || a === '-v') opts.verbose = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else if (!a.startsWith('-')) opts.binary = a;
    else throw new Error(`unknown option ${a}`);
  }
  return opts;
}

// Offers `version` in initialize instead of the SDK's latest, and records the version the server answered.
// (The same interception as /work/shared/mcp-clients/mcp-smoke.mjs: the SDK has no option for it.)
function forceProtocolVersion(transport, version, seen) {
  let initId;
  const send = transport.send.bind(transport);
  transport.send = (msg, options) => {
    if (msg && msg.method === 'initialize') {
      initId = msg.id;
      msg = { ...msg, params: { ...msg.params, protocolVersion: version } };
      seen.offered = version;
    }
    return send(msg, options);
  };
  let handler;
  Object.defineProperty(transport, 'onmessage', {
    configurable: true,
    get: () => handler,
    set: (h) => {
      handler = h && ((m, extra) => {
        if (m && initId !== undefined && m.id === initId && m.result) {
          seen.negotiated = m.result.protocolVersion;
          seen.serverInfo = m.result.serverInfo;
        }
        return h(m, extra);
      });
    },
  });
}

const text = (result) =>
  (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
const atLeast = (version, since) => version >= since;  // ISO dates compare as strings

async function runVersion(binary, version, verbose) {
  const checks = [];
  const check = (name, ok, detail = '') => {
    checks.push({ name, ok: !!ok, detail });
    if (verbose || !ok) {
      console.log(`  [${version}] ${ok ? 'ok  ' : 'FAIL'} ${name}${detail && !ok ? `: ${detail}` : ''}`);
    }
    return !!ok;
  };
  const started = performance.now();
  const seen = {};
  // Field gates follow the version in force: the negotiated one (equal to the offered one when all is well).
  const gate = () => seen.negotiated ?? version;
  let stderr = '';
  let exit = null;

  const transport = new StdioClientTransport({
    command: binary,
    args: ['--store', 'memory', '--log-level', 'warn'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk) => { stderr += chunk.toString(); });
  forceProtocolVersion(transport, version, seen);
  const client = new Client({ name: 'memtrace-interop-sdk', version: '1.0.0' }, { capabilities: {} });
  let logMessages = 0;
  client.setNotificationHandler(LoggingMessageNotificationSchema, () => { logMessages++; });
  const opts = { timeout: REQUEST_TIMEOUT_MS };

  // A tool call that must succeed: returns the result, or null after recording the failure.
  const call = async (name, args) => {
    try {
      const result = await client.callTool({ name, arguments: args }, undefined, opts);
      if (!check(`${name} returns a result without isError`, !result.isError, text(result))) return null;
      const hasStructured = result.structuredContent !== undefined;
      if (atLeast(gate(), '2025-06-18')) {
        check(`${name} carries structuredContent`,
          hasStructured && typeof result.structuredContent === 'object');
      } else {
        check(`${name} has no structuredContent before 2025-06-18`, !hasStructured,
          JSON.stringify(result.structuredContent));
      }
      check(`${name} has a text content block`, text(result).length > 0, JSON.stringify(result.content));
      return result;
    } catch (e) {
      check(`${name} call`, false, e.message);
      return null;
    }
  };
  // Memories a recall/search result lists: structuredContent when the version has it, else the text.
  const listsId = (result, id) => {
    if (!result) return false;
    if (result.structuredContent) return result.structuredContent.memories?.some((m) => m.id === id) ?? false;
    return text(result).includes(id);
  };
  const storedId = (result) => {
    if (!result) return undefined;
    if (result.structuredContent) return result.structuredContent.id;
    return text(result).match(/\b[0-9A-HJKMNP-TV-Z]{26}\b/)?.[0];
  };

  try {
    try {
      await client.connect(transport, opts);
      transport._process?.on('exit', (code, signal) => { exit = { code, signal }; });
    } catch (e) {
      check('connect (initialize + notifications/initialized)', false, e.message);
      return { version, checks, seen, ms: performance.now() - started, stderr };
    }
    check('connect (initialize + notifications/initialized)', true);
    check('negotiated version equals the offered one', seen.negotiated === version,
      `offered ${version}, server answered ${seen.negotiated}`);
    check('serverInfo.name is memtrace-mcp', seen.serverInfo?.name === 'memtrace-mcp',
      JSON.stringify(seen.serverInfo));
    check('server advertises the tools capability', !!client.getServerCapabilities()?.tools,
      JSON.stringify(client.getServerCapabilities()));

    await client.ping(opts);
    check('ping', true);

    // ---- tools/list and the fields each version may carry ----
    const { tools } = await client.listTools(undefined, opts);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    for (const name of TOOLS) check(`tools/list has ${name}`, !!byName[name], Object.keys(byName).join(', '));
    const listed = TOOLS.map((n) => byName[n]).filter(Boolean);
    check('every tool has a description and an object inputSchema',
      listed.every((t) => t.description && t.inputSchema?.type === 'object'));
    const fieldGates = [
      ['title', '2025-06-18'], ['outputSchema', '2025-06-18'], ['annotations', '2025-03-26'],
    ];
    for (const [field, since] of fieldGates) {
      const present = listed.filter((t) => t[field] !== undefined).map((t) => t.name);
      if (atLeast(gate(), since)) {
        check(`every tool has ${field} (from ${since})`, present.length === listed.length,
          `only on: ${present.join(', ') || 'none'}`);
      } else {
        check(`no tool has ${field} before ${since}`, present.length === 0,
          `present on: ${present.join(', ')}`);
      }
    }
    if (atLeast(gate(), '2025-03-26') && byName.memtrace_forget?.annotations) {
      check('memtrace_forget is annotated destructive',
        byName.memtrace_forget.annotations.destructiveHint === true);
      check('memtrace_recall is annotated read-only',
        byName.memtrace_recall?.annotations?.readOnlyHint === true);
    }

    // ---- the memory tools, end to end ----
    const marker = `interop-${version.replaceAll('-', '')}`;
    const remembered = await call('memtrace_remember', {
      content: `The user prefers dark mode in every editor (${marker})`,
      tags: ['preference', 'ui'],
      importance: 0.8,
      type: 'fact',
    });
    const id = storedId(remembered);
    check('remember returns a memory id', ULID.test(id ?? ''), text(remembered ?? {}));
    const other = await call('memtrace_remember', {
      content: 'The build uses CMake and Ninja',
      tags: ['build'],
    });
    const otherId = storedId(other);

    const recalled = await call('memtrace_recall', { since: '1h', limit: 50 });
    check('recall finds the remembered memory', listsId(recalled, id), text(recalled ?? {}));
    check('recall finds the second memory', listsId(recalled, otherId));
    if (recalled?.structuredContent) {
      const ids = recalled.structuredContent.memories.map((m) => m.id);
      check('recall lists newest first', ids.indexOf(otherId) < ids.indexOf(id), ids.join(' '));
      check('recall echoes its scope', recalled.structuredContent.scope?.namespace === 'default',
        JSON.stringify(recalled.structuredContent.scope));
    }

    const byContent = await call('memtrace_search', { content_contains: 'DARK MODE' });
    check('search finds it by content (case-insensitive substring)', listsId(byContent, id),
      text(byContent ?? {}));
    check('search by content leaves the other memory out', !listsId(byContent, otherId));
    const byTag = await call('memtrace_search', { tags: ['preference'] });
    check('search finds it by tag', listsId(byTag, id), text(byTag ?? {}));
    check('search by tag leaves the other memory out', !listsId(byTag, otherId));
    const byBoth = await call('memtrace_search', { content_contains: marker, tags: ['preference', 'ui'] });
    check('search finds it by content and both tags', listsId(byBoth, id), text(byBoth ?? {}));

    const decided = await call('memtrace_decide', {
      decision: 'Ship the dark theme as the default',
      reasoning: 'The user prefers dark mode everywhere',
      tags: ['ui'],
    });
    const decisionId = storedId(decided);
    check('decide returns a decision id', ULID.test(decisionId ?? ''), text(decided ?? {}));
    const decisions = await call('memtrace_recall', { types: ['decision'] });
    check('recall of type decision finds the decision', listsId(decisions, decisionId),
      text(decisions ?? {}));
    check('recall of type decision leaves facts out', !listsId(decisions, id));

    const forgotten = await call('memtrace_forget', { id });
    if (forgotten?.structuredContent) {
      check('forget reports forgotten: true', forgotten.structuredContent.forgotten === true &&
        forgotten.structuredContent.id === id, JSON.stringify(forgotten.structuredContent));
    }
    const after = await call('memtrace_search', { content_contains: 'dark mode' });
    check('search no longer finds the forgotten memory', after !== null && !listsId(after, id),
      text(after ?? {}));
    const afterTag = await call('memtrace_search', { tags: ['preference'] });
    check('search by tag no longer finds it either', afterTag !== null && !listsId(afterTag, id));

    // ---- errors stay inside the protocol ----
    const bad = await client.callTool(
      { name: 'memtrace_remember', arguments: { importance: 5 } }, undefined, opts);
    check('invalid arguments give isError with a readable message',
      bad.isError === true && text(bad).length > 0,
      JSON.stringify(bad));
    try {
      await client.callTool({ name: 'memtrace_no_such_tool', arguments: {} }, undefined, opts);
      check('an unknown tool is refused', false, 'the call succeeded');
    } catch (e) {
      check('an unknown tool is refused', /no_such_tool|Unknown tool/i.test(e.message), e.message);
    }
  } catch (e) {
    check('unexpected exception', false, e.stack ?? String(e));
  } finally {
    await client.close().catch(() => {});
  }
  // Closing stdin must end the server cleanly.
  if (transport._process) {
    for (let i = 0; i < 100 && exit === null; i++) await new Promise((r) => setTimeout(r, 20));
    check('server exits 0 after stdin closes', exit?.code === 0, JSON.stringify(exit));
  }
  return { version, checks, seen, ms: performance.now() - started, stderr, logMessages };
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
  if (opts.help || !opts.binary) {
    console.error('usage: node stdio_sdk_client.mjs /path/to/memtrace-mcp [--versions V1,V2] [--verbose]');
    process.exit(opts.help ? 0 : 2);
  }
  let sdkVersion = '?';
  try {
    const pkg = new URL('./node_modules/@modelcontextprotocol/sdk/package.json', import.meta.url);
    sdkVersion = JSON.parse(readFileSync(pkg, 'utf8')).version;
  } catch { /* only informative */ }
  console.log(`memtrace-mcp stdio interop: ${opts.binary}`);
  console.log(`client: @modelcontextprotocol/sdk ${sdkVersion} on Node ${process.version}`);

  const results = [];
  for (const version of opts.versions) results.push(await runVersion(opts.binary, version, opts.verbose));

  console.log('\n=== SUMMARY ===');
  let failed = 0;
  for (const r of results) {
    const bad = r.checks.filter((c) => !c.ok);
    failed += bad.length;
    const mark = bad.length === 0 && r.checks.length > 0 ? 'PASS' : 'FAIL';
    console.log(`${mark} ${r.version}: negotiated ${r.seen.negotiated ?? '-'}, ` +
      `${r.checks.length - bad.length}/${r.checks.length} checks passed (${Math.round(r.ms)} ms)`);
    for (const c of bad) console.log(`     - ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
    if (bad.length && r.stderr.trim()) {
      console.log(`     server stderr:\n${r.stderr.trim().replace(/^/gm, '       ')}`);
    }
  }
  const total = results.reduce((n, r) => n + r.checks.length, 0);
  console.log(failed === 0 ? `OK: all ${total} checks passed across ${results.length} protocol versions`
                           : `FAILED: ${failed} of ${total} checks failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e.stack ?? String(e));
  process.exit(1);
});
