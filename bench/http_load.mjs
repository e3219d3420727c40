// HTTP load benchmark for memtrace-mcp (a benchmark, not a test): starts the server on a free loopback
// port, then
//   1. N concurrent Streamable HTTP sessions (default 64) make mixed tool calls for D seconds (default 30);
//   2. S idle standalone SSE streams (default 1000) are held open at once, and a probe call is timed.
// Reports calls/s, latency p50/p99/max, errors, and the server's RSS (VmRSS / VmHWM from /proc).
//
// usage: node bench/http_load.mjs path/to/memtrace-mcp [--sessions 64] [--duration 30] [--streams 1000]
//                                  [--store memory|sqlite:PATH] [--workers 4] [--http-threads 2] [--json]
// Needs only Node >= 20 (built-in fetch). Sends traffic to 127.0.0.1 only; every loop is bounded in time.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync as readdir, readFileSync, readlinkSync as readlink, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
}
const binary = process.argv.slice(2)
  .find((a, i, all) => !a.startsWith('--') && !(all[i - 1] ?? '').startsWith('--'));
if (!binary) {
  console.error('usage: node bench/http_load.mjs path/to/memtrace-mcp [--sessions 64] [--duration 30] '
                + '[--streams 1000]');
  process.exit(2);
}
const SESSIONS = Number(option('sessions', 64));
const DURATION_S = Number(option('duration', 30));
const STREAMS = Number(option('streams', 1000));
const WORKERS = option('workers', '4');
const HTTP_THREADS = option('http-threads', '2');
const scratch = mkdtempSync(join(tmpdir(), 'memtrace-bench-'));
const STORE = option('store', `sqlite:${join(scratch, 'bench.db')}`);
const JSON_OUT = process.argv.includes('--json');

const HEADERS = { Accept: 'application/json, text/event-stream', 'Content-Type': 'application/json' };

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [
      '--transport', 'http', '--listen', '127.0.0.1:0', '--store', STORE, '--log-level', 'warn',
      '--workers', WORKERS, '--http-threads', HTTP_THREADS,
      '--max-connections', String(STREAMS + SESSIONS + 256),
      '--max-sessions', String(STREAMS + SESSIONS + 256),
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 30_000);
    // --log-level warn hides the "listening" line; read the port from /proc instead once it listens.
    child.stderr.on('data', (c) => { log += c; });
    child.on('exit', (code) => reject(new Error(`server exited (${code}):\n${log}`)));
    const poll = setInterval(() => {
      const port = listeningPort(child.pid);
      if (port) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve({ child, port });
      }
    }, 50);
  });
}

// The TCP port a process listens on, from /proc/net/tcp and its socket inodes.
function listeningPort(pid) {
  try {
    const inodes = new Set();
    for (const fd of readdir(`/proc/${pid}/fd`)) {
      const m = /socket:\[(\d+)\]/.exec(readlink(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    }
    for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '0A' && inodes.has(f[9])) return parseInt(f[1].split(':')[1], 16);
    }
  } catch {}
  return 0;
}

function rss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k) => Number((new RegExp(`${k}:\\s+(\\d+) kB`).exec(status) ?? [0, 0])[1]) / 1024;
  return { rss_mib: +get('VmRSS').toFixed(1), peak_mib: +get('VmHWM').toFixed(1) };
}

async function post(url, session, body, version = '2025-11-25') {
  const headers = { ...HEADERS };
  if (session) {
    headers['Mcp-Session-Id'] = session;
    headers['MCP-Protocol-Version'] = version;
  }
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, session: res.headers.get('mcp-session-id'), text };
}

async function openSession(url, name) {
  const init = await post(url, null, {
    jsonrpc: '2.0', id: 0, method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name, version: '1' } },
  });
  if (init.status !== 200) throw new Error(`initialize: HTTP ${init.status} ${init.text}`);
  await post(url, init.session, { jsonrpc: '2.0', method: 'notifications/initialized' });
  return init.session;
}

function pick(i) {
  const r = i % 20;
  if (r < 8) {
    return ['memtrace_remember', { content: `load test note ${i}: the build is green`, tags: ['bench'] }];
  }
  if (r < 13) return ['memtrace_recall', { since: '1h', limit: 20 }];
  if (r < 18) return ['memtrace_search', { content_contains: 'green', limit: 20 }];
  return ['memtrace_decide', { decision: `decision ${i}`, reasoning: 'benchmark' }];
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function mixedCalls(url) {
  const latencies = [];
  let errors = 0;
  const deadline = Date.now() + DURATION_S * 1000;
  const sessions = await Promise.all(
    Array.from({ length: SESSIONS }, (_, i) => openSession(url, `bench-${i}`)));
  const started = performance.now();
  await Promise.all(sessions.map(async (session, s) => {
    let i = s * 1_000_000;
    while (Date.now() < deadline) {
      const [name, args] = pick(i);
      const t0 = performance.now();
      try {
        const call = { jsonrpc: '2.0', id: ++i, method: 'tools/call', params: { name, arguments: args } };
        const r = await post(url, session, call);
        const ok = r.status === 200 && r.text.includes('"result"') && !r.text.includes('"isError":true');
        if (!ok) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    sessions: SESSIONS, seconds: +seconds.toFixed(1), calls: latencies.length,
    calls_per_s: +(latencies.length / seconds).toFixed(0),
    p50_ms: +percentile(latencies, 50).toFixed(2), p99_ms: +percentile(latencies, 99).toFixed(2),
    max_ms: +(latencies.at(-1) ?? 0).toFixed(2), errors,
  };
}

async function idleStreams(url, pid) {
  const controllers = [];
  let opened = 0;
  let failures = 0;
  const t0 = performance.now();
  // Open in batches so that setup itself is not a connection storm.
  for (let done = 0; done < STREAMS; done += 100) {
    await Promise.all(Array.from({ length: Math.min(100, STREAMS - done) }, async (_, k) => {
      try {
        const session = await openSession(url, `idle-${done + k}`);
        const controller = new AbortController();
        const res = await fetch(url, {
          headers: {
            Accept: 'text/event-stream', 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '2025-11-25',
          },
          signal: controller.signal,
        });
        if (res.status !== 200) throw new Error(`GET: ${res.status}`);
        const reader = res.body.getReader();
        await reader.read();  // the priming event: the stream is live
        controllers.push(controller);
        opened++;
      } catch {
        failures++;
      }
    }));
  }
  const setup_s = (performance.now() - t0) / 1000;
  // With every stream open, one more session still gets quick answers.
  const probe = await openSession(url, 'probe');
  const probes = [];
  for (let i = 0; i < 50; i++) {
    const p0 = performance.now();
    const call = { jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: 'memtrace_recall', arguments: {} } };
    await post(url, probe, call);
    probes.push(performance.now() - p0);
  }
  probes.sort((a, b) => a - b);
  const memory = rss(pid);
  const metrics = await (await fetch(url.replace('/mcp', '/metrics'))).text();
  const streamsGauge = Number((/^memtrace_sse_streams_open (\d+)/m.exec(metrics) ?? [0, -1])[1]);
  for (const c of controllers) c.abort();
  return {
    streams_requested: STREAMS, streams_open: opened, failures, server_streams_gauge: streamsGauge,
    setup_s: +setup_s.toFixed(1), probe_p50_ms: +percentile(probes, 50).toFixed(2),
    probe_p99_ms: +percentile(probes, 99).toFixed(2), ...memory,
  };
}

async function main() {
  const { child, port } = await startServer();
  const url = `http://127.0.0.1:${port}/mcp`;
  const report = { server: binary, store: STORE.startsWith('sqlite:') ? 'sqlite (temp file)' : STORE };
  try {
    report.baseline = rss(child.pid);
    report.mixed_calls = await mixedCalls(url);
    report.after_calls = rss(child.pid);
    report.idle_streams = await idleStreams(url, child.pid);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 20_000);
      child.on('exit', () => { clearTimeout(timer); resolve(); });
    });
    rmSync(scratch, { recursive: true, force: true });
  }
  if (JSON_OUT) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const m = report.mixed_calls;
  const s = report.idle_streams;
  console.log(`mixed tool calls: ${m.sessions} sessions x ${m.seconds} s: ${m.calls} calls, ` +
              `${m.calls_per_s} calls/s, ` +
              `p50 ${m.p50_ms} ms, p99 ${m.p99_ms} ms, max ${m.max_ms} ms, errors ${m.errors}`);
  console.log(`idle SSE streams: ${s.streams_open}/${s.streams_requested} open ` +
              `(server gauge ${s.server_streams_gauge}), failures ${s.failures}, setup ${s.setup_s} s; ` +
              `probe recall p50 ${s.probe_p50_ms} ms, p99 ${s.probe_p99_ms} ms`);
  console.log(`server RSS: baseline ${report.baseline.rss_mib} MiB, ` +
              `after calls ${report.after_calls.rss_mib} MiB, ` +
              `with streams ${s.rss_mib} MiB (peak ${s.peak_mib} MiB)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
