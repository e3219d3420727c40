// Scenario "researcher-summarizer" (Memtrace guide, "Multi-Agent Example"): two memtrace-mcp processes with
// different --agent on one store and one session. The researcher stores findings (tags, importance) and a
// decision; the summarizer's context, and the context resource, show them attributed to the researcher,
// and the summarizer adds its report to the same session.
//
// usage: node researcher-summarizer.mjs --store SPEC [--binary PATH] [--claude]
import { claudeTurn } from './lib/claude.mjs';
import { Memtrace, expect, log, parseOptions, runId, runScenario } from './lib/memtrace.mjs';

const FINDINGS = [
  { content: 'Time-series databases compress sequential timestamps with delta-of-delta encoding, often 10x '
      + 'or more.', tags: ['compression'], importance: 0.9 },
  { content: 'Append-mostly ingestion lets time-series stores sustain millions of points per second per '
      + 'node.', tags: ['ingestion'], importance: 0.8 },
  { content: 'Retention policies and downsampling keep storage bounded without losing long-term trends.',
    tags: ['retention'], importance: 0.6 },
  { content: 'Time-bucketed partitions make range queries over recent data touch few files.',
    tags: ['queries'], importance: 0.5 },
];

await runScenario('researcher-summarizer', async () => {
  const options = parseOptions(process.argv.slice(2));
  const run = runId();
  const flags = ['--session-metadata', 'task=research_and_summarize', '--session-metadata', `run=${run}`];
  log(`researcher-summarizer on ${options.store}: session metadata task=research_and_summarize run=${run}`);

  const researcher = await Memtrace.start({ ...options, agent: 'researcher', flags });
  await researcher.call('memtrace_agent_register',
    { name: 'researcher', description: 'Investigates topics and stores findings' });
  const session = (await researcher.call('memtrace_session_context', {})).session_id;
  if (options.claude) {
    await claudeTurn(researcher, {
      system: 'You are a researcher. Store each finding as its own memory with memtrace_remember (type fact, '
        + 'tags, importance), and log what the report should focus on with memtrace_decide.',
      prompt: 'Research the benefits of time-series databases.',
    });
  } else {
    for (const finding of FINDINGS) {
      await researcher.call('memtrace_remember',
        { ...finding, tags: ['research', ...finding.tags], type: 'fact' });
    }
    await researcher.call('memtrace_decide', {
      decision: 'Lead the report with compression and ingestion.',
      reasoning: 'They carry the highest importance among the findings.',
      tags: ['report'],
    });
  }
  log(`  researcher stored its findings in session ${session}`);

  // The summarizer: another process, another agent, the same session (found by its metadata).
  const summarizer = await Memtrace.start({ ...options, agent: 'summarizer', flags });
  const ctx = await summarizer.call('memtrace_session_context', { max_tokens: 4000 });
  expect(ctx.session_id === session, `the summarizer works in the researcher's session ${session}`,
    ctx.session_id);
  expect(ctx.context.includes('Agents: researcher'), 'the context header names the researcher', ctx.context);
  const viaResource = await summarizer.readText('memtrace://sessions/current/context');
  if (options.claude) {
    expect(/· researcher · /.test(ctx.context), 'the summarizer sees memories attributed to the researcher',
      ctx.context);
    await claudeTurn(summarizer, {
      system: 'You are a report writer. Store the finished report with memtrace_remember (tags ["report"]).',
      prompt: 'Create a summary report of the research in this session.',
    });
  } else {
    for (const finding of FINDINGS) {
      const attributed = ctx.context.split('\n').find((line) => line.includes(finding.content));
      expect(attributed && attributed.includes(' · researcher · fact · '),
        `the summarizer's context shows the finding "${finding.content.slice(0, 40)}…" attributed to the `
          + 'researcher',
        ctx.context);
      expect(viaResource.includes(finding.content), 'the context resource shows the same findings',
        viaResource);
    }
    const decision = 'researcher · decision · [report]: Lead the report with compression and ingestion. '
      + '— because: They carry the highest importance among the findings.';
    expect(ctx.context.includes(decision), 'the researcher\'s decision is listed with its reasoning',
      ctx.context);
    const important = ctx.context.indexOf('## Important');
    expect(important >= 0 && ctx.context.indexOf('delta-of-delta') > important,
      'findings of importance >= 0.7 are under "## Important"', ctx.context);
    const report = FINDINGS.filter((f) => f.importance >= 0.7)
      .map((f) => f.content.split(' ').slice(0, 5).join(' '));
    await summarizer.call('memtrace_remember', {
      content: `Report: ${report.join('; ')}.`, tags: ['report'], importance: 0.9, type: 'fact',
    });
  }

  // Both agents take part in the session; the researcher sees the report.
  const found = await researcher.call('memtrace_session_search', { metadata: { run } });
  expect(found.sessions.length === 1 && found.sessions[0].id === session, 'one session carries this run',
    found);
  expect(JSON.stringify(found.sessions[0].agents) === JSON.stringify(['researcher', 'summarizer']),
    'the session lists both agents', found.sessions[0].agents);
  const reports = await researcher.call('memtrace_search',
    { tags: ['report'], session_id: session, types: ['fact'] });
  expect(reports.memories.some((m) => m.agent_id === 'summarizer'),
    'the researcher finds the summarizer\'s report', reports);
  log(`  summarizer read ${FINDINGS.length} findings by the researcher and stored its report`);
  await researcher.close();
  await summarizer.close();
});
