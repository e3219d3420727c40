// Scenario "support-desk" (Memtrace guide, "Telegram Customer Support Example"): three bots (internet,
// tv, billing), three memtrace-mcp processes. Each finds the customer's active session by account_id
// metadata (memtrace_session_create resumes it), sees what the other departments stored, and writes with
// its own agent id. A restarted bot resumes the same session.
//
// usage: node support-desk.mjs --store SPEC [--binary PATH] [--claude]
import { claudeTurn } from './lib/claude.mjs';
import { Memtrace, expect, log, parseOptions, runId, runScenario } from './lib/memtrace.mjs';

const BOTS = {
  internet: { name: 'Juan', department: 'Internet Support (troubleshooting, router issues, plan upgrades)' },
  tv: { name: 'Martin', department: 'TV Support (channels, set-top box, HBO and sports packages)' },
  billing: { name: 'Cecilia', department: 'Billing (charges, credits, disputes, discounts)' },
};

// What each bot hears from the customer, and (scripted) what it answers and notes.
const CONVERSATION = [
  { bot: 'internet', customer: 'My internet drops every evening around 8pm.',
    response: 'I reset your router remotely and opened ticket NET-7731.',
    note: 'Router firmware was outdated.' },
  { bot: 'tv', customer: 'The sports package shows a black screen since the internet outage.',
    response: 'Your set-top box lost its pairing during the outage; I re-paired it.',
    note: 'Box model X2, paired again.' },
  { bot: 'billing', customer: 'Can I get a credit for the outage days?',
    response: 'I applied a 3-day credit of $12.40 for ticket NET-7731.', note: 'Credit CR-118 applied.' },
];

await runScenario('support-desk', async () => {
  const options = parseOptions(process.argv.slice(2));
  const account = `ACME-${runId()}`;
  log(`support-desk on ${options.store}: customer account_id=${account}`);

  const start = async (bot) => {
    const memtrace = await Memtrace.start({ ...options, agent: bot });
    await memtrace.call('memtrace_agent_register', { name: bot, description: BOTS[bot].department });
    // Find or create the customer's session, as each bot does for every incoming message.
    const opened = await memtrace.call('memtrace_session_create',
      { metadata: { account_id: account, channel: 'telegram' } });
    return { memtrace, opened };
  };

  const bots = {};
  let session;
  const seen = [];  // lines every later bot must see
  for (const turn of CONVERSATION) {
    const { memtrace, opened } = await start(turn.bot);
    bots[turn.bot] = memtrace;
    if (!session) {
      expect(opened.resumed === false, 'the first bot starts the customer\'s session', opened);
      session = opened.session.id;
    } else {
      expect(opened.resumed === true && opened.session.id === session,
        `${turn.bot} finds the customer's active session ${session} by account_id`, opened);
    }
    const ctx = await memtrace.context({ max_tokens: 4000 });
    for (const line of seen) {
      expect(ctx.includes(line), `${turn.bot} sees what another department stored: "${line}"`, ctx);
    }
    if (options.claude) {
      const { name, department } = BOTS[turn.bot];
      await claudeTurn(memtrace, {
        system: `You are ${name} from TeleCo ${department}. The customer's history from every department is `
          + 'below. Answer briefly, and store what you did with memtrace_remember.',
        prompt: turn.customer,
      });
    } else {
      await memtrace.call('memtrace_remember', { content: `Customer: ${turn.customer}`, tags: ['customer'] });
      await memtrace.call('memtrace_remember', { content: `Response: ${turn.response}`, tags: ['response'] });
      await memtrace.call('memtrace_remember',
        { content: turn.note, tags: ['note'], type: 'fact', importance: 0.8 });
      seen.push(`${turn.bot} · observation · [customer]: Customer: ${turn.customer}`);
      seen.push(`${turn.bot} · fact · [note] · importance 0.8: ${turn.note}`);
    }
    log(`  ${turn.bot} served the customer in session ${session}`);
  }

  // Restart the internet bot: a new process finds the same session and the whole history.
  await bots.internet.close();
  const restarted = await start('internet');
  expect(restarted.opened.resumed === true && restarted.opened.session.id === session,
    'the restarted internet bot resumes the customer\'s session', restarted.opened);
  const ctx = await restarted.memtrace.context({ max_tokens: 4000 });
  expect(ctx.includes('Agents: billing, internet, tv'), 'the context names all three bots', ctx);
  for (const line of seen) expect(ctx.includes(line), `after the restart the context shows "${line}"`, ctx);

  const found = await restarted.memtrace.call('memtrace_session_search',
    { metadata: { account_id: account }, status: 'active' });
  expect(found.sessions.length === 1, 'the customer has exactly one active session', found);
  expect(JSON.stringify(found.sessions[0].agents) === JSON.stringify(['billing', 'internet', 'tv']),
    'the session lists the three bots', found.sessions[0].agents);
  if (!options.claude) {
    expect(found.sessions[0].memory_count === 3 * CONVERSATION.length,
      'every bot\'s three memories are there', found.sessions[0]);
  }
  const billing = await restarted.memtrace.call('memtrace_search',
    { content_contains: 'NET-7731', session_id: session });
  log(`  restarted internet bot resumed ${session}; ${billing.memories.length} memories mention NET-7731`);
  await restarted.memtrace.call('memtrace_session_close', {});
  for (const bot of ['tv', 'billing']) await bots[bot].close();
  await restarted.memtrace.close();
});
