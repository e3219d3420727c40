// The memory browser page in headless Chromium, checked as a person would see it: a server with API keys
// of two namespaces and seeded data; the page asks for a key, lists the sessions, shows a session's
// timeline with a decision and its reasoning, the context digest, search and tasks; a memory another
// client writes appears live; the other namespace's key sees none of it; a phone-width view fits.
// Screenshots of the main views go to OUTDIR (the build directory's browser-artefacts/).
//
// usage: run.sh page_test.mjs /path/to/memtrace-mcp OUTDIR
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  artefactDir, check, connectClient, createKey, launchChromium, startServer, summary, textOf, tool,
  waitIn,
} from './support.mjs';

const [binary, outArg] = process.argv.slice(2);
if (!binary || !outArg) {
  console.error('usage: page_test.mjs /path/to/memtrace-mcp OUTDIR');
  process.exit(2);
}
const out = artefactDir(outArg);
const tmp = mkdtempSync(join(tmpdir(), 'memtrace-browser-'));
const store = `sqlite:${join(tmp, 'memtrace.db')}`;

async function seed(port, keyA, keyB) {
  const planner = await connectClient(port, 'planner', keyA);
  const billing = (await tool(planner, 'memtrace_session_create', {
    metadata: { title: 'Billing migration', account_id: '42' },
  })).session;
  await tool(planner, 'memtrace_remember', {
    content: 'Invoices are generated nightly by the cron job', tags: ['billing', 'invoices'], importance: 0.8,
  });
  await tool(planner, 'memtrace_decide', {
    decision: 'Move invoices to Postgres', reasoning: 'SQLite locks up under the nightly invoice batch',
  });
  await tool(planner, 'memtrace_claim_task', { task_id: 'deploy-v2', lease: '10m' });

  const reviewer = await connectClient(port, 'reviewer', keyA);
  await tool(reviewer, 'memtrace_session_create', { metadata: { title: 'Onboarding docs' } });
  await tool(reviewer, 'memtrace_remember', { content: 'Write the onboarding checklist', tags: ['docs'] });
  await reviewer.close();

  const other = await connectClient(port, 'team-b-agent', keyB);
  await tool(other, 'memtrace_session_create', { metadata: { title: 'Secret project B' } });
  await tool(other, 'memtrace_remember', { content: 'Team B invoice numbering is private' });
  await other.close();
  return { planner, billingId: billing.id };
}

async function signIn(page, port, key) {
  await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'domcontentloaded' });
  const asked = await waitIn(page, () => !document.getElementById('login').hidden);
  check('the page asks for an API key when the server requires one', asked);
  await page.type('#key', key);
  await page.keyboard.press('Enter');  // the form submits from the keyboard
}

async function signedIn(page, port, key) {
  await signIn(page, port, key);
  return waitIn(page, () => document.body.dataset.ready === 'true');
}

async function main() {
  const keyA = createKey(binary, store, 'team-a');
  const keyB = createKey(binary, store, 'team-b');
  const keyReader = createKey(binary, store, 'team-a', '--read-only');
  const server = await startServer(binary, ['--store', store, '--require-auth']);
  const { port } = server;
  const base = `http://127.0.0.1:${port}`;
  let browser;
  try {
    const { planner, billingId } = await seed(port, keyA, keyB);

    // Served by the binary, locked down, and nothing without a key.
    const res = await fetch(`${base}/`);
    check('GET / serves the page', res.status === 200 && (res.headers.get('content-type') || '').startsWith('text/html'));
    check('the page sends a Content-Security-Policy',
          (res.headers.get('content-security-policy') || '').includes("script-src 'self'"));
    check('GET /ui/browser.js is served', (await fetch(`${base}/ui/browser.js`)).status === 200);
    check('/mcp without a key is refused', (await fetch(`${base}/mcp`, { method: 'POST' })).status === 401);
    const asReader = (method, path, body) => fetch(`${base}${path}`, {
      method, headers: { Authorization: `Bearer ${keyReader}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    check('a read-only key may search over REST', (await asReader('POST', '/api/v1/search', { content_contains: 'nightly' })).status === 200);
    check('a read-only key may not write over REST',
          (await asReader('POST', '/api/v1/memories', { content: 'x', agent_id: 'a', session_id: billingId })).status === 403);
    const foreign = await fetch(`${base}/`, { headers: { Origin: 'http://evil.example' } });
    check('a foreign Origin is refused, as on /mcp', foreign.status === 403);

    browser = await launchChromium();
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 800 });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));

    check('signing in with the key of namespace team-a opens the sessions', await signedIn(page, port, keyA));
    const sessions = await textOf(page, '#session-list .card');
    check('the sessions of team-a are listed', sessions.includes('Billing migration') && sessions.includes('Onboarding docs'),
          sessions);
    check('another namespace\'s session is not listed', !sessions.includes('Secret project B'), sessions);
    check('a session card names its agents and counts', /2 memories/.test(sessions) && sessions.includes('planner'),
          sessions);
    await page.screenshot({ path: join(out, 'sessions.png') });

    // Filters: only the reviewer's session.
    await page.type('#f-agent', 'reviewer');
    await page.click('#session-filters button[type="submit"]');
    check('filtering by agent keeps only that agent\'s sessions', await waitIn(page, () => {
      const text = document.getElementById('session-list').textContent;
      return text.includes('Onboarding docs') && !text.includes('Billing migration');
    }));
    await page.$eval('#f-agent', (input) => { input.value = ''; });
    await page.click('#session-filters button[type="submit"]');
    await waitIn(page, () => document.getElementById('session-list').textContent.includes('Billing migration'));

    // A session's timeline: the decision with its reasoning, who and when.
    await page.click(`[data-session="${billingId}"]`);
    check('the timeline shows the decision and its reasoning', await waitIn(page, () => {
      const d = document.querySelector('#timeline .memory.decision');
      return d && d.textContent.includes('Move invoices to Postgres') &&
        d.textContent.includes('SQLite locks up under the nightly invoice batch');
    }));
    const timeline = await textOf(page, '#timeline');
    check('each memory names its agent and tags', timeline.includes('planner') && timeline.includes('invoices'), timeline);
    await page.screenshot({ path: join(out, 'session.png') });

    // Live: another client writes into the session; the page shows it without being reloaded.
    check('the page holds a live event stream', await waitIn(page, () => document.getElementById('live').textContent === 'live'));
    await tool(planner, 'memtrace_remember', { content: 'Live: the invoice batch moved to 02:00', session_id: billingId });
    check('a memory written by another client appears live', await waitIn(page, () =>
      document.getElementById('timeline').textContent.includes('the invoice batch moved to 02:00')));

    // The context digest as the model reads it.
    await page.click('#tab-context');
    check('the context digest is shown', await waitIn(page, () => {
      const pane = document.getElementById('pane-context');
      return !pane.hidden && document.getElementById('context').textContent.includes('Move invoices to Postgres');
    }));
    await page.screenshot({ path: join(out, 'context.png') });

    // Search.
    await page.click('.tab[data-view="search"]');
    await page.type('#s-content', 'nightly');
    await page.keyboard.press('Enter');
    check('a search finds the memory', await waitIn(page, () =>
      document.getElementById('search-results').textContent.includes('Invoices are generated nightly')));
    const found = await textOf(page, '#search-results');
    check('search stays in the key\'s namespace', !found.includes('Team B'), found);
    await page.screenshot({ path: join(out, 'search.png') });

    // Tasks.
    await page.click('.tab[data-view="tasks"]');
    check('the claimed task is listed with its holder', await waitIn(page, () => {
      const row = document.querySelector('[data-task="deploy-v2"]');
      return row && row.textContent.includes('claimed') && row.textContent.includes('planner');
    }));
    await page.screenshot({ path: join(out, 'tasks.png') });

    // A phone: one column, nothing wider than the screen.
    await page.setViewport({ width: 390, height: 844, isMobile: true });
    await page.click('.tab[data-view="sessions"]');
    await waitIn(page, () => document.getElementById('session-list').children.length >= 2);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    check('the sessions view fits a phone width', overflow <= 390, `scrollWidth ${overflow}`);
    await page.screenshot({ path: join(out, 'sessions-phone.png'), fullPage: true });
    check('no script errors on the page', errors.length === 0, errors.join('; '));
    await page.close();

    // The other namespace's key: a fresh browser context (its own sessionStorage).
    const context = await browser.createBrowserContext();
    const pageB = await context.newPage();
    await pageB.setViewport({ width: 1100, height: 800 });
    check('the key of namespace team-b signs in', await signedIn(pageB, port, keyB));
    const sessionsB = await textOf(pageB, '#session-list .card');
    check('team-b sees its own session', sessionsB.includes('Secret project B'), sessionsB);
    check('team-b sees none of team-a\'s sessions', !sessionsB.includes('Billing migration') && !sessionsB.includes('Onboarding'),
          sessionsB);
    await pageB.click('.tab[data-view="search"]');
    await pageB.type('#s-content', 'nightly');
    await pageB.keyboard.press('Enter');
    check('team-b\'s search finds nothing of team-a', await waitIn(pageB, () =>
      document.getElementById('search-status').textContent === 'Nothing found.'));
    await context.close();

    // Forget: off until the person allows it; refused by the server for a read-only key; done with a
    // key that may write.
    const forgetIn = async (key, label) => {
      const ctx = await browser.createBrowserContext();
      const p = await ctx.newPage();
      await p.setViewport({ width: 1100, height: 800 });
      p.on('dialog', (dialog) => dialog.accept());
      check(`${label}: signs in`, await signedIn(p, port, key));
      await p.click(`[data-session="${billingId}"]`);
      await waitIn(p, () => document.querySelector('#timeline .memory.decision'));
      check(`${label}: no forget button until allowed`, (await p.$('#timeline .forget')) === null);
      await p.click('#allow-forget');
      const shown = await waitIn(p, () => document.querySelector('#timeline .memory.decision .forget'));
      check(`${label}: forget offered once allowed`, shown);
      if (shown) await p.click('#timeline .memory.decision .forget');
      return { ctx, p };
    };
    const reader = await forgetIn(keyReader, 'read-only key');
    check('read-only key: forget is refused by the server', await waitIn(reader.p, () =>
      document.getElementById('notice').textContent.includes('read-only')));
    await reader.p.screenshot({ path: join(out, 'forget-refused.png') });
    check('read-only key: the decision is still there', await tool(planner, 'memtrace_recall', {
      session_id: billingId, types: ['decision'], since: '1h',
    }).then((page) => page.memories.length === 1));
    await reader.ctx.close();
    const writer = await forgetIn(keyA, 'writing key');
    check('writing key: the forgotten decision leaves the timeline', await waitIn(writer.p, () =>
      !document.querySelector('#timeline .memory.decision')));
    await writer.ctx.close();

    // A wrong key is refused and asked for again.
    const context2 = await browser.createBrowserContext();
    const pageC = await context2.newPage();
    await signIn(pageC, port, 'mtk_' + '0'.repeat(64));
    check('a wrong key is refused', await waitIn(pageC, () =>
      !document.getElementById('login').hidden && document.getElementById('login-error').textContent !== ''));
    await context2.close();
    await planner.close();
  } finally {
    if (browser) await browser.close();
    server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  return summary();
}

main().then((code) => process.exit(code), (e) => {
  console.error(`FAIL ${e.stack || e}`);
  process.exit(1);
});
