// Scenario "work-queue" (Redis memory guide, "Multi-Agent Coordination": task claiming and result
// sharing): worker processes race to claim the tasks of one queue, each with a memtrace-mcp of its own
// (--agent worker-N) in one shared session. A worker that wins a claim checks that nobody finished the task
// already, does it, and shares the result under its claim's fencing token (which marks the task done).
// Before the race a worker "crashes" holding a claim with a 2 s lease: the task is free again once the
// lease runs out and is done by another. Another stalls past its lease while holding a task: a second worker
// takes it over, and the stalled worker's late result is refused by its fencing token. While the workers race, a summarizer follows the change feed
// (memtrace_changes with a cursor) and lists every result as its task.done arrives; afterwards it
// verifies from the shared results that every task was completed exactly once, and that its session
// context lists them all.
//
// usage: node work-queue.mjs --store SPEC [--binary PATH] [--workers 8] [--tasks 200] [--claude]
// (--role worker ... is how the scenario starts its worker processes.)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { claudeTurn } from './lib/claude.mjs';
import { Memtrace, ScenarioFailure, expect, log, parseOptions, runId, runScenario } from './lib/memtrace.mjs';

const LEASE = '30s';
const CRASHED_LEASE = '2s';
const WORKER_DEADLINE_MS = 120_000;
const RETRY_PAUSE_MS = 250;  // between passes over tasks other workers hold (a lease may have to run out)
const CLAUDE_TURNS = 8;
const FEED_POLL_MS = 100;  // the summarizer's pause when the feed has nothing new

// The "work": a checksum of the task id, so that the summarizer can check every result's content.
function work(task) {
  let sum = 0;
  for (const c of task) sum = (sum * 31 + c.charCodeAt(0)) % 1_000_003;
  return `${task} done: checksum ${sum}`;
}

// A different, repeatable order per worker: real contention instead of a convoy.
function shuffled(items, seed) {
  const out = [...items];
  let state = seed * 2654435761 + 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function isDone(memtrace, task) {
  return (await memtrace.readJson(`memtrace://tasks/${task}`)).results.length > 0;
}

// ---- a worker process ----

async function runWorker(options) {
  const index = Number(options.index);
  const tasks = JSON.parse(options.taskList);
  const memtrace = await Memtrace.start(
    { ...options, agent: `worker-${index}`, flags: ['--session', options.session] });
  const report = { worker: index, completed: [], claimsRefused: 0, alreadyDone: 0, passes: 0 };
  if (options.claude) {
    // Turns over the tasks still unfinished: a task someone holds is skipped and looked at again later.
    let remaining = shuffled(tasks, index + 1);
    for (let turn = 0; remaining.length > 0; turn++) {
      expect(turn < CLAUDE_TURNS, `worker-${index}: tasks still unfinished after ${CLAUDE_TURNS} turns`,
        remaining);
      if (turn > 0) await pause(1000);
      await claudeTurn(memtrace, {
        system: 'You are one of several workers sharing a task queue. For each task id: call '
          + 'memtrace_claim_task; if claimed is false, skip it. If you got it, call memtrace_search with '
          + 'tags ["task:<id>"] and types ["result"]; if a result exists, call memtrace_release_task and '
          + 'skip it. Otherwise the result is the task id written backwards: share it with '
          + 'memtrace_share_result.',
        prompt: `Tasks: ${remaining.join(', ')}`,
        tools: ['memtrace_claim_task', 'memtrace_release_task', 'memtrace_share_result', 'memtrace_search'],
      });
      const unfinished = [];
      for (const task of remaining) if (!(await isDone(memtrace, task))) unfinished.push(task);
      remaining = unfinished;
    }
    const mine = await memtrace.call('memtrace_search',
      { agent_id: `worker-${index}`, types: ['result'], limit: 200, session_id: options.session });
    report.completed = mine.memories.map((m) => m.tags.find((t) => t.startsWith('task:')).slice(5));
  } else {
    const deadline = Date.now() + WORKER_DEADLINE_MS;
    let pending = shuffled(tasks, index + 1);
    while (pending.length > 0) {
      report.passes++;
      const heldByOthers = [];
      for (const task of pending) {
        const claim = await memtrace.call('memtrace_claim_task', { task_id: task, lease: LEASE });
        if (!claim.claimed) {
          report.claimsRefused++;
          heldByOthers.push(task);
          continue;
        }
        // Claimed: but the previous holder may have finished it (sharing releases the claim).
        if (await isDone(memtrace, task)) {
          await memtrace.call('memtrace_release_task', { task_id: task, token: claim.token });
          report.alreadyDone++;
          continue;
        }
        const shared = await memtrace.call('memtrace_share_result',
          { task_id: task, result: work(task), token: claim.token });
        expect(shared.token === claim.token, `worker-${index}: ${task}'s result is shared under its token`,
          shared);
        expect(shared.released, `worker-${index}: sharing the result of ${task} releases the claim`, shared);
        report.completed.push(task);
      }
      // Tasks other workers held: most are done by now; the rest wait for their holder or their lease.
      pending = [];
      for (const task of heldByOthers) if (!(await isDone(memtrace, task))) pending.push(task);
      if (pending.length > 0) {
        expect(Date.now() < deadline,
          `worker-${index}: tasks still unfinished after ${WORKER_DEADLINE_MS} ms`, pending);
        await pause(RETRY_PAUSE_MS);
      }
    }
  }
  await memtrace.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function startWorker(options, index, tasks, session) {
  const args = [fileURLToPath(import.meta.url), '--role', 'worker', '--index', String(index),
    '--store', options.store, '--binary', options.binary, '--session', session,
    '--task-list', JSON.stringify(tasks)];
  if (options.claude) args.push('--claude');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-8000); });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(new ScenarioFailure(`worker-${index} exited with ${code}:\n${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

// ---- the scenario ----

async function runQueue(options) {
  const workers = Number(options.workers ?? (options.claude ? 2 : 8));
  const count = Number(options.tasks ?? (options.claude ? 6 : 200));
  const queue = `q${runId()}`;
  const session = `queue-${queue}`;
  const tasks = Array.from({ length: count }, (_, i) => `${queue}-t${String(i).padStart(3, '0')}`);
  log(`work-queue on ${options.store}: ${workers} workers, ${count} tasks, session ${session}`);

  // A worker that claims the first task and dies without finishing it.
  const crashed =
    await Memtrace.start({ ...options, agent: 'worker-crashed', flags: ['--session', session] });
  const lost = await crashed.call('memtrace_claim_task', { task_id: tasks[0], lease: CRASHED_LEASE });
  expect(lost.claimed, 'the crashing worker claims the first task', lost);
  await crashed.close();
  log(`  worker-crashed claimed ${tasks[0]} for ${CRASHED_LEASE} and died`);

  // A worker that claims the second task and stalls past its lease (a GC pause, a swapped-out laptop):
  // another worker takes the task over, and the stalled one's late result is refused by its token.
  const stalled =
    await Memtrace.start({ ...options, agent: 'worker-stalled', flags: ['--session', session] });
  const stale = await stalled.call('memtrace_claim_task', { task_id: tasks[1], lease: CRASHED_LEASE });
  expect(stale.claimed, 'the stalling worker claims the second task', stale);
  const takeover =
    await Memtrace.start({ ...options, agent: 'worker-takeover', flags: ['--session', session] });
  const takeoverDeadline = Date.parse(stale.lease_until) + 15_000;
  let taken;
  for (;;) {  // retried until the stalled worker's lease has run out
    taken = await takeover.call('memtrace_claim_task', { task_id: tasks[1], lease: '30s' });
    if (taken.claimed) break;
    expect(Date.now() < takeoverDeadline, `worker-takeover gets ${tasks[1]} once the lease ran out`, taken);
    await pause(RETRY_PAUSE_MS);
  }
  expect(taken.token > stale.token, `the takeover's token is larger (${taken.token} > ${stale.token})`, taken);
  const late = await stalled.callRaw('memtrace_share_result',
    { task_id: tasks[1], result: work(tasks[1]), token: stale.token });
  const lateText = late.content?.map((c) => c.text ?? '').join(' ') ?? '';
  expect(late.isError && lateText.includes(`token ${stale.token} is not the current claim`),
    'the stalled worker\'s late result is refused by its token', late);
  const early = await takeover.call('memtrace_search', { session_id: session, tags: [`task:${tasks[1]}`] });
  expect(early.memories.length === 0, `nothing of the late result of ${tasks[1]} was recorded`, early);
  const handedBack = await takeover.call('memtrace_release_task', { task_id: tasks[1], token: taken.token });
  expect(handedBack.released, `worker-takeover hands ${tasks[1]} back to the queue`, handedBack);
  await stalled.close();
  await takeover.close();
  log(`  worker-stalled held ${tasks[1]} past its lease; its late result under token ${stale.token} was `
    + `refused (worker-takeover held token ${taken.token})`);

  // The summarizer follows the change feed from here: its cursor is the feed's end, found by reading
  // the (still empty) queue session's changes until no page says more.
  const summarizer = await Memtrace.start({ ...options, agent: 'summarizer', flags: ['--session', session] });
  let feedCursor;
  for (let more = true; more;) {
    const page = await summarizer.call('memtrace_changes',
      { session_id: session, kinds: ['task.done'], limit: 1000, ...(feedCursor ? { cursor: feedCursor } : {}) });
    feedCursor = page.next_cursor;
    more = page.more;
  }
  const finishedInFeed = new Map();  // task -> the task.done change
  const follow = async (workersDone) => {
    const deadline = Date.now() + WORKER_DEADLINE_MS + 30_000;
    while (finishedInFeed.size < count) {
      const page = await summarizer.call('memtrace_changes',
        { cursor: feedCursor, session_id: session, kinds: ['task.done'], limit: 1000 });
      for (const change of page.changes) {
        expect(!finishedInFeed.has(change.task_id), `the feed lists ${change.task_id} done once`, change);
        finishedInFeed.set(change.task_id, change);
      }
      feedCursor = page.next_cursor;
      if (page.more) continue;
      if (workersDone() && page.changes.length === 0) break;
      expect(Date.now() < deadline, `the feed lists every task done (${finishedInFeed.size} of ${count})`);
      await pause(FEED_POLL_MS);
    }
  };

  const started = performance.now();
  let workersFinished = false;
  const race = Promise.all(Array.from({ length: workers }, (_, i) => startWorker(options, i, tasks, session)))
    .finally(() => { workersFinished = true; });
  const [reports] = await Promise.all([race, follow(() => workersFinished)]);
  const seconds = (performance.now() - started) / 1000;

  // Exactly once, by the workers' own account...
  const doneBy = new Map();
  for (const report of reports) {
    for (const task of report.completed) {
      expect(!doneBy.has(task),
        `${task} was completed twice (worker-${doneBy.get(task)} and worker-${report.worker})`);
      doneBy.set(task, report.worker);
    }
  }
  expect(doneBy.size === count, `every task was completed (${doneBy.size} of ${count})`,
    tasks.filter((t) => !doneBy.has(t)));
  for (const report of reports) {
    log(`  worker-${report.worker}: completed ${report.completed.length}, `
      + `claims refused ${report.claimsRefused}, claimed but already done ${report.alreadyDone}, `
      + `passes ${report.passes}`);
  }

  // ...by the change feed the summarizer followed: every task done once, by the worker that did it...
  expect(finishedInFeed.size === count, `the feed lists every task done (${finishedInFeed.size} of ${count})`,
    tasks.filter((t) => !finishedInFeed.has(t)));
  for (const [task, change] of finishedInFeed) {
    expect(change.agent === `worker-${doneBy.get(task)}`, `the feed says ${task} was done by its worker`, change);
  }
  log(`  the summarizer followed the change feed: ${finishedInFeed.size} results, each task done once`);

  // ...and by the store: the summarizer reads the shared results.
  const results = new Map();
  let cursor;
  do {
    const page = await summarizer.call('memtrace_search',
      { session_id: session, types: ['result'], limit: 200, ...(cursor ? { cursor } : {}) });
    for (const m of page.memories) {
      const task = m.tags.find((t) => t.startsWith('task:'))?.slice(5);
      expect(task && !results.has(task), `exactly one shared result per task (${task})`, m);
      results.set(task, m);
    }
    cursor = page.next_cursor;
  } while (cursor);
  expect(results.size === count, `the session holds one result per task (${results.size} of ${count})`);
  for (const [task, memory] of results) {
    expect(memory.agent_id === `worker-${doneBy.get(task)}`, `${task}'s result is attributed to its worker`,
      memory);
    if (!options.claude) expect(memory.content === work(task), `${task}'s result is correct`, memory);
  }
  const rescued = results.get(tasks[0]);
  expect(Date.parse(rescued.created_at) >= Date.parse(lost.lease_until),
    `${tasks[0]} was finished by another worker only after worker-crashed's lease ran out `
      + `(${lost.lease_until})`,
    rescued);

  // Every task is done (not claimed, not free again), finished by the worker that shared its result.
  const notDone = [];
  for (const task of tasks) {
    const view = await summarizer.readJson(`memtrace://tasks/${task}`);
    if (view.status !== 'done') notDone.push({ task, status: view.status });
    else expect(view.finished?.agent === `worker-${doneBy.get(task)}`, `${task} is done by its worker`, view);
  }
  expect(notDone.length === 0, 'every task is done, none left claimed or free', notDone);

  const ctx = await summarizer.call('memtrace_session_context', { types: ['result'], max_tokens: 40000 });
  for (const task of tasks) {
    const mentions = ctx.context.split(`[task:${task}]`).length - 1;
    expect(mentions === 1, `the summarizer's context lists ${task} once (found ${mentions})`, ctx.context);
  }
  let sum = 0;
  for (let i = 0; i < workers; i++) {
    sum += (await summarizer.readJson(`memtrace://agents/worker-${i}`)).results;
  }
  expect(sum >= count, `the workers' agent records count the ${count} results`, sum);

  const perWorker = reports.map((r) => `worker-${r.worker}: ${r.completed.length}`).join(', ');
  await summarizer.call('memtrace_remember', {
    content: `Queue ${queue}: ${count} tasks completed exactly once by ${workers} workers (${perWorker}).`,
    tags: ['summary', queue], importance: 0.9, type: 'fact',
  });
  await summarizer.close();
  log(`  ${count} tasks, ${count} results, each exactly once, in ${seconds.toFixed(1)} s; `
    + `the context lists all ${count}`);
}

const options = (() => {
  try {
    return parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`FAIL work-queue: ${error.message}`);
    process.exit(2);
  }
})();
if (options.role === 'worker') {
  await runWorker(options).catch((error) => {
    console.error(error instanceof ScenarioFailure ? error.message : error?.stack ?? error);
    process.exit(1);
  });
} else {
  await runScenario('work-queue', () => runQueue(options));
}
