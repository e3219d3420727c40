// The memory browser as an MCP App, in headless Chromium inside a minimal host built on the official
// bridge (@modelcontextprotocol/ext-apps AppBridge, harness.html): memtrace_show links the app through
// _meta.ui.resourceUri; the host reads ui://memtrace/browser, mounts it, and the app lists the sessions
// and opens one through tools/call requests that the bridge forwards to the server. Read tools only.
// The server has no API keys, so its own page (GET /) is also checked to open without asking for one.
//
// usage: run.sh app_host_test.mjs /path/to/memtrace-mcp OUTDIR
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { RESOURCE_MIME_TYPE, getToolUiResourceUri } from '@modelcontextprotocol/ext-apps/app-bridge';

import {
  artefactDir, check, connectClient, launchChromium, startServer, summary, textOf, tool, waitIn,
} from './support.mjs';

const [binary, outArg] = process.argv.slice(2);
if (!binary || !outArg) {
  console.error('usage: app_host_test.mjs /path/to/memtrace-mcp OUTDIR');
  process.exit(2);
}
const out = artefactDir(outArg);
const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, 'node_modules');

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json' };

// The host page and the modules it imports, on a loopback port of its own (port 0).
function serveHarness() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file;
    if (path === '/' || path === '/harness.html') file = join(here, 'harness.html');
    else if (path.startsWith('/node_modules/')) file = resolve(modules, path.slice('/node_modules/'.length));
    if (!file || (file !== join(here, 'harness.html') && !file.startsWith(modules + sep))) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream' }).end(body);
    } catch (e) {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

async function main() {
  const memtrace = await startServer(binary, ['--store', 'memory']);
  let browser;
  let harness;
  try {
    const client = await connectClient(memtrace.port, 'release-agent');
    const session = (await tool(client, 'memtrace_session_create', { metadata: { title: 'Release checklist' } })).session;
    await tool(client, 'memtrace_decide', {
      decision: 'Ship on Thursday', reasoning: 'the migration needs a quiet day after it',
    });
    await tool(client, 'memtrace_remember', { content: 'Changelog drafted', tags: ['release'] });

    // The server's side of MCP Apps, as a host reads it.
    const { tools } = await client.listTools();
    const show = tools.find((t) => t.name === 'memtrace_show');
    check('tools/list has memtrace_show', !!show);
    check('memtrace_show links ui://memtrace/browser through _meta.ui.resourceUri',
          show && getToolUiResourceUri(show) === 'ui://memtrace/browser', JSON.stringify(show?._meta));
    const readTools = new Set(tools.filter((t) => t.annotations?.readOnlyHint === true).map((t) => t.name));
    const listed = (await client.listResources()).resources.find((r) => r.uri === 'ui://memtrace/browser');
    check('resources/list has the app', listed && listed.mimeType === RESOURCE_MIME_TYPE, JSON.stringify(listed));
    const read = await client.readResource({ uri: 'ui://memtrace/browser' });
    const app = read.contents[0];
    check(`the app resource is ${RESOURCE_MIME_TYPE}`, app.mimeType === RESOURCE_MIME_TYPE, app.mimeType);
    check('the app is one self-contained document',
          app.text.includes('data-mode="app"') && !app.text.includes('src="/ui/') && !app.text.includes('href="/ui/'));
    const shown = await client.callTool({ name: 'memtrace_show', arguments: { session_id: session.id } });
    check('memtrace_show answers in text for hosts without apps', !shown.isError && shown.content[0].text.includes('memory browser'));

    // The host: Chromium, the harness page, the bridge's calls forwarded to the MCP client.
    harness = await serveHarness();
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.setViewport({ width: 900, height: 940 });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const calls = [];
    await page.exposeFunction('hostCallTool', async (params) => {
      calls.push(params.name);
      return client.callTool(params);
    });
    await page.exposeFunction('hostReadResource', async (params) => {
      calls.push(`read ${params.uri}`);
      return client.readResource(params);
    });
    await page.goto(`http://127.0.0.1:${harness.address().port}/harness.html`, { waitUntil: 'domcontentloaded' });
    check('the host harness loads the official bridge', await waitIn(page, () => document.body.dataset.harness === 'ready'),
          errors.join('; '));
    // Mounted as the answer to memtrace_show {session_id}: the host passes the tool's arguments on
    // (ui/notifications/tool-input), and the app opens that session after listing the sessions.
    await page.evaluate((html, input) => window.mountApp(html, input), app.text, { session_id: session.id });
    check('the app completed ui/initialize with the host', await page.evaluate(() => document.body.dataset.app) === 'initialized');

    const frame = page.frames().find((f) => f !== page.mainFrame());
    check('the app lists the sessions through a tool call via the host', frame && await waitIn(frame, () => {
      const list = document.getElementById('session-list');
      return list && list.textContent.includes('Release checklist');
    }));
    check('the listing came through the bridge as memtrace_session_search', calls.includes('memtrace_session_search'),
          calls.join(', '));
    check('the tool input opens that session\'s timeline: the decision and its reasoning', await waitIn(frame, () => {
      const d = document.querySelector('#timeline .memory.decision');
      return !document.getElementById('view-session').hidden && d && d.textContent.includes('Ship on Thursday') &&
        d.textContent.includes('quiet day');
    }));
    const timeline = await textOf(frame, '#timeline');
    check('the timeline shows the other memories too', timeline.includes('Changelog drafted'), timeline);
    await page.screenshot({ path: join(out, 'app-session.png') });
    await frame.click('#back');
    check('back in the app: the sessions', await waitIn(frame, () => !document.getElementById('view-sessions').hidden &&
      document.getElementById('session-list').textContent.includes('Release checklist')));
    await page.screenshot({ path: join(out, 'app-sessions.png') });
    check('the app offers no forget', (await frame.$('#timeline .forget')) === null &&
          await frame.$eval('#forget-toggle', (el) => el.hidden));
    const writes = calls.filter((c) => !c.startsWith('read ') && !readTools.has(c));
    check('the app called read tools only', writes.length === 0, writes.join(', '));
    check('no script errors in the host or the app', errors.length === 0, errors.join('; '));

    // The same server has no API keys (loopback dev mode): its page opens without asking for one.
    const direct = await browser.newPage();
    await direct.goto(`http://127.0.0.1:${memtrace.port}/`, { waitUntil: 'domcontentloaded' });
    check('without API keys the page opens without asking', await waitIn(direct, () =>
      document.body.dataset.ready === 'true' && document.getElementById('login').hidden &&
      document.getElementById('session-list').textContent.includes('Release checklist')));
    await client.close();
  } finally {
    if (browser) await browser.close();
    if (harness) harness.close();
    memtrace.stop();
  }
  return summary();
}

main().then((code) => process.exit(code), (e) => {
  console.error(`FAIL ${e.stack || e}`);
  process.exit(1);
});
