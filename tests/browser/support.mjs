// What the browser tests share: a memtrace-mcp on a free loopback port, API keys, an MCP client (the
// official SDK) for seeding and for writing while the page watches, headless Chromium, checks.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import puppeteer from 'puppeteer-core';

export const WAIT_MS = 15_000;  // the longest any single condition may take to come true

let passed = 0;
let failed = 0;
export function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`PASS ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ''}`);
  }
  return ok;
}
export function summary() {
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

// `keys create` on the store: the token (first line of its output).
export function createKey(binary, store, ns, ...flags) {
  const out = execFileSync(binary, ['--store', store, 'keys', 'create', '--namespace', ns, ...flags], {
    encoding: 'utf8', timeout: 30_000,
  });
  return out.split('\n')[0].trim();
}

// memtrace-mcp --transport http on 127.0.0.1:0; resolves with the port it printed once listening.
export function startServer(binary, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--transport', 'http', '--listen', '127.0.0.1:0', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`server did not listen:\n${log}`)), 30_000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\/mcp/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), log: () => log, stop: () => child.kill('SIGTERM') });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}):\n${log}`)));
  });
}

// An MCP client over Streamable HTTP, with `key` as its Bearer token (none: anonymous).
export async function connectClient(port, name, key) {
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
    requestInit: { headers },
  });
  const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  return client;
}

export async function tool(client, name, args) {
  const result = await client.callTool({ name, arguments: args }, undefined, { timeout: WAIT_MS });
  if (result.isError) throw new Error(`${name}: ${result.content?.[0]?.text}`);
  return result.structuredContent;
}

// Headless Chromium from Debian (run.sh found it). Nothing leaves the machine: every host name but
// loopback fails to resolve, and Chromium's background services are off.
export async function launchChromium() {
  return puppeteer.launch({
    executablePath: process.env.MEMTRACE_CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',  // CI containers run as root
      '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-default-apps',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
}

export function artefactDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

// Waits until `fn` (run in the page) returns something truthy; false after WAIT_MS.
export async function waitIn(page, fn, ...args) {
  try {
    await page.waitForFunction(fn, { timeout: WAIT_MS, polling: 'mutation' }, ...args);
    return true;
  } catch (e) {
    return false;
  }
}

export function textOf(page, selector) {
  return page.$$eval(selector, (nodes) => nodes.map((n) => n.textContent).join('\n'));
}
