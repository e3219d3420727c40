// The --claude variant: one Claude turn through the Anthropic Messages API (plain fetch), with the
// memtrace MCP tools offered as Claude tools and every tool_use block executed on the agent's memtrace-mcp
// process, until Claude stops asking for tools. Needs ANTHROPIC_API_KEY; ANTHROPIC_MODEL picks the model.
import { ScenarioFailure, log, text } from './memtrace.mjs';

const API = `${process.env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com'}/v1/messages`;
const MODEL = process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-4-20250514';
const MAX_TURNS = 12;

// Claude tools from the server's tools/list (name, description, JSON schema of the arguments).
async function claudeTools(memtrace, only) {
  const { tools } = await memtrace.client.listTools();
  return tools
    .filter((t) => !only || only.includes(t.name))
    .map((t) => ({ name: t.name, description: t.description ?? '', input_schema: t.inputSchema }));
}

async function messages(body) {
  const response = await fetch(API, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': process.env.ANTHROPIC_API_KEY,
      'anthropic-version': '2023-06-01',
    },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    throw new ScenarioFailure(`Anthropic API answered ${response.status}: ${await response.text()}`);
  }
  return response.json();
}

// Runs the tool-use loop for `memtrace`'s agent; returns Claude's final text. `system` gets the session
// context appended (the memory loop of the reference guide: context → prompt → tools → persisted).
export async function claudeTurn(memtrace, { system, prompt, tools = undefined }) {
  const context = await memtrace.context({ max_tokens: 4000 });
  const body = {
    model: MODEL,
    max_tokens: 1024,
    system: `${system}\n\n${context}`,
    tools: await claudeTools(memtrace, tools),
    messages: [{ role: 'user', content: prompt }],
  };
  for (let turn = 0; turn < MAX_TURNS; turn++) {
    const reply = await messages(body);
    body.messages.push({ role: 'assistant', content: reply.content });
    if (reply.stop_reason !== 'tool_use') {
      const answer = reply.content.filter((b) => b.type === 'text').map((b) => b.text).join('\n');
      log(`  ${memtrace.agent} (Claude): ${answer.slice(0, 300)}`);
      return answer;
    }
    const results = [];
    for (const block of reply.content.filter((b) => b.type === 'tool_use')) {
      const result = await memtrace.callRaw(block.name, block.input);
      log(`  ${memtrace.agent} (Claude) → ${block.name} ${JSON.stringify(block.input).slice(0, 120)}`);
      results.push(
        { type: 'tool_result', tool_use_id: block.id, content: text(result), is_error: !!result.isError });
    }
    body.messages.push({ role: 'user', content: results });
  }
  throw new ScenarioFailure(`${memtrace.agent}: Claude still wanted tools after ${MAX_TURNS} turns`);
}
