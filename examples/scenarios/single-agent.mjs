// Scenario "single-agent" (Memtrace guide, "Single Agent Example"): the memory loop of one agent.
// First start: context (empty) → remember → recall → decide. Second start, a new memtrace-mcp process
// with the same --session-metadata: it resumes the session and its context holds what the first stored.
//
// usage: node single-agent.mjs --store SPEC [--binary PATH] [--claude]
import { claudeTurn } from './lib/claude.mjs';
import { Memtrace, expect, log, parseOptions, runId, runScenario } from './lib/memtrace.mjs';

await runScenario('single-agent', async () => {
  const options = parseOptions(process.argv.slice(2));
  const task = `conversation-${runId()}`;
  const start = () =>
    Memtrace.start({ ...options, agent: 'assistant', flags: ['--session-metadata', `task=${task}`] });

  log(`single-agent on ${options.store}: session metadata task=${task}`);
  const first = await start();
  const before = await first.call('memtrace_session_context', {});
  const session = before.session_id;
  expect(!before.context.includes('## '), 'a new session has no memories in its context', before.context);
  await first.call('memtrace_agent_register',
    { name: 'assistant', description: 'Helpful AI assistant with memory' });

  if (options.claude) {
    await claudeTurn(first, {
      system: 'You are a helpful assistant. Store what you learn about the user with memtrace_remember '
        + 'and log choices with memtrace_decide.',
      prompt: 'I prefer dark mode, and please keep answers short.',
    });
  } else {
    const stored = await first.call('memtrace_remember', {
      content: 'The user prefers dark mode.', tags: ['preference', 'ui'], importance: 0.8, type: 'fact',
    });
    expect(stored.session_id === session, 'the memory lands in the configured session', stored);
    await first.call('memtrace_remember', { content: 'The user wants short answers.', tags: ['preference'] });
    const recalled = await first.call('memtrace_recall', { since: '1h' });
    expect(recalled.memories.some((m) => m.id === stored.id), 'recall returns the memory just stored',
      recalled);
    await first.call('memtrace_decide', {
      decision: 'Render generated UI in the dark theme.',
      reasoning: 'The user said they prefer dark mode.',
    });
  }
  const afterFirst = await first.context();
  await first.close();
  log(`  first start stored into session ${session}:\n${indent(afterFirst)}`);

  // A second start of the agent: a new process, the same metadata → the same session and its memory.
  const second = await start();
  const resumed = await second.call('memtrace_session_context', {});
  expect(resumed.session_id === session,
    `the second start resumes session ${session} by its metadata`, resumed.session_id);
  expect(second.instructions.includes(`# Session context: ${session}`),
    'the second start gets the session context in its initialize instructions', second.instructions);
  if (options.claude) {
    expect(/· assistant · /.test(resumed.context), 'Claude stored something the second start can see',
      resumed.context);
    await claudeTurn(second,
      { system: 'You are a helpful assistant.', prompt: 'Which theme should my dashboard use?' });
  } else {
    for (const line of ['assistant · fact · [preference, ui]', 'The user prefers dark mode.',
      'The user wants short answers.', '## Decisions', 'Render generated UI in the dark theme.']) {
      expect(resumed.context.includes(line), `the second start's context shows "${line}"`, resumed.context);
    }
    const search = await second.call('memtrace_search', { tags: ['preference'], session_id: session });
    expect(search.memories.length === 2, 'search by tag finds both preferences after the restart', search);
  }
  await second.call('memtrace_session_close', {});
  await second.close();
  log(`  second start resumed session ${session} and saw it; session closed`);
});

function indent(text) {
  return text.trimEnd().split('\n').map((line) => `    ${line}`).join('\n');
}
