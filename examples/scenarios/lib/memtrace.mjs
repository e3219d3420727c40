// Shared by the scenarios: command-line options, memtrace-mcp processes driven by the official MCP
// TypeScript SDK client over stdio, checks that end the scenario with a clear message, and a run id.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');

// The SDK pinned by tests/interop (run tests/interop/install.sh once); MEMTRACE_SDK_DIR overrides it.
const sdkDir =
  process.env.MEMTRACE_SDK_DIR ?? path.join(repoRoot, 'tests/interop/node_modules/@modelcontextprotocol/sdk');
if (!existsSync(path.join(sdkDir, 'package.json'))) {
  console.error(`FAIL: the MCP TypeScript SDK is not installed at ${sdkDir}.`
    + ' Run tests/interop/install.sh first.');
  process.exit(2);
}
const sdk = (file) => pathToFileURL(path.join(sdkDir, 'dist/esm', file)).href;
const { Client } = await import(sdk('client/index.js'));
const { StdioClientTransport } = await import(sdk('client/stdio.js'));

export class ScenarioFailure extends Error {}

// Ends the scenario (exit 1, see runScenario) with `message` unless `condition` holds.
export function expect(condition, message, detail = undefined) {
  if (!condition) {
    throw new ScenarioFailure(detail === undefined ? message : `${message}\n  got: ${show(detail)}`);
  }
}

function show(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return text.length > 4000 ? `${text.slice(0, 4000)}… (${text.length} characters)` : text;
}

export function log(...parts) {
  console.log(...parts);
}

// --store SPEC (required), --binary PATH, --claude, plus scenario-specific --name value pairs.
export function parseOptions(argv, defaults = {}) {
  const options = { ...defaults, claude: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--claude') {
      options.claude = true;
    } else if (arg.startsWith('--') && i + 1 < argv.length) {
      options[arg.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = argv[++i];
    } else {
      throw new ScenarioFailure(`unknown argument ${arg}`);
    }
  }
  if (!options.store) throw new ScenarioFailure('--store is required, e.g. --store sqlite:/tmp/memtrace.db');
  options.binary ??= process.env.MEMTRACE_BINARY ?? findBinary();
  if (options.claude && !process.env.ANTHROPIC_API_KEY) {
    throw new ScenarioFailure('--claude drives Claude through the Anthropic API and needs ANTHROPIC_API_KEY');
  }
  return options;
}

function findBinary() {
  for (const candidate of ['build/memtrace-mcp', 'build-release/memtrace-mcp']) {
    const full = path.join(repoRoot, candidate);
    if (existsSync(full)) return full;
  }
  return 'memtrace-mcp';  // on PATH
}

// A short id that keeps runs on a reused store apart (sessions, metadata, task ids).
export function runId() {
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
}

// Runs `main` and exits 0 on success, 1 with the failure's message otherwise (2 for setup errors).
export async function runScenario(name, main) {
  const started = performance.now();
  try {
    await main();
    log(`PASS ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    process.exit(0);
  } catch (error) {
    if (error instanceof ScenarioFailure) {
      console.error(`FAIL ${name}: ${error.message}`);
    } else {
      console.error(`FAIL ${name}: unexpected error: ${error?.stack ?? error}`);
    }
    process.exit(1);
  }
}

// The text blocks of a tool result, joined.
export const text = (result) =>
  (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

// One memtrace-mcp process and the SDK client talking to it.
export class Memtrace {
  // flags: extra memtrace-mcp arguments (--session, --session-metadata k=v, ...).
  static async start({ binary, store, agent, flags = [] }) {
    const self = new Memtrace();
    self.agent = agent;
    self.stderr = '';
    self.transport = new StdioClientTransport({
      command: binary,
      args: ['--store', store, '--agent', agent, '--log-level', 'warn', ...flags],
      stderr: 'pipe',
    });
    self.transport.stderr?.on('data', (chunk) => {
      self.stderr = (self.stderr + chunk.toString()).slice(-8000);
    });
    self.client = new Client({ name: `scenario-${agent}`, version: '1.0.0' });
    try {
      await self.client.connect(self.transport);
    } catch (error) {
      throw new ScenarioFailure(`${agent}: cannot start ${binary} (${error.message})${self.stderrNote()}`);
    }
    self.instructions = self.client.getInstructions() ?? '';
    return self;
  }

  stderrNote() {
    return this.stderr ? `\n  stderr of ${this.agent}'s memtrace-mcp:\n${this.stderr}` : '';
  }

  // Calls a tool; returns structuredContent (and .text), failing the scenario on isError.
  async call(name, args = {}) {
    const result = await this.callRaw(name, args);
    expect(!result.isError, `${this.agent}: ${name} failed: ${text(result)}${this.stderrNote()}`);
    return { ...result.structuredContent, text: text(result) };
  }

  // The tool result as it came (content, structuredContent, isError).
  async callRaw(name, args = {}) {
    try {
      return await this.client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 });
    } catch (error) {
      throw new ScenarioFailure(
        `${this.agent}: ${name} could not be called: ${error.message}${this.stderrNote()}`);
    }
  }

  async readText(uri) {
    const result = await this.client.readResource({ uri });
    return result.contents[0].text;
  }

  async readJson(uri) {
    return JSON.parse(await this.readText(uri));
  }

  async context(args = {}) {
    return (await this.call('memtrace_session_context', args)).context;
  }

  async close() {
    await this.client.close();
  }
}
