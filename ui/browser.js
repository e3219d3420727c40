// memtrace's memory browser. One program, two ways to reach the server:
//   page mode (served at /): MCP over HTTP, POST /mcp with the API key as Authorization: Bearer, and the
//     session's standalone event stream (GET /mcp, read with fetch because EventSource cannot send the
//     key) for live updates: notifications/resources/updated and list_changed, the same notifications
//     an MCP client subscribed to a session hears.
//   app mode (ui://memtrace/browser inside an MCP host): JSON-RPC over postMessage with the host
//     (the MCP Apps bridge: ui/initialize, then tools/call and resources/read forwarded to the server).
// Read-only except memtrace_forget, offered only in page mode once the person allows it; the server
// decides whether the key may. Every string from the server goes into the page as text, never as HTML.
// (No closing script tag may appear in this file: app mode inlines it in a script element.)
"use strict";

(function () {
  const PROTOCOL_VERSION = "2025-06-18";
  const APP_PROTOCOL_VERSION = "2026-01-26";
  const CLIENT_INFO = { name: "memtrace-browser", version: "1" };
  const REQUEST_TIMEOUT_MS = 30000;
  const KEY_STORAGE = "memtrace-api-key";
  const PAGE_SIZE = 50;

  const $ = (id) => document.getElementById(id);
  const mode = document.documentElement.dataset.mode === "app" ? "app" : "page";

  class AuthError extends Error {}

  // ---- page mode: MCP over Streamable HTTP ------------------------------------------------------------

  // The JSON-RPC messages of an SSE body ("data:" lines of each event).
  function sseMessages(text) {
    const out = [];
    for (const block of text.split(/\r?\n\r?\n/)) {
      const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart());
      if (data.length === 0) continue;
      try { out.push(JSON.parse(data.join("\n"))); } catch (e) { /* a priming event carries no JSON */ }
    }
    return out;
  }

  class HttpMcp {
    constructor(key) {
      this.key = key;
      this.sessionId = null;
      this.nextId = 1;
      this.onNotification = () => {};
      this.onLive = () => {};
      this.stream = null;
    }

    headers(extra) {
      const h = Object.assign({ Accept: "application/json, text/event-stream" }, extra || {});
      if (this.key) h.Authorization = "Bearer " + this.key;
      if (this.sessionId) {
        h["Mcp-Session-Id"] = this.sessionId;
        h["MCP-Protocol-Version"] = PROTOCOL_VERSION;
      }
      return h;
    }

    async post(message) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
      try {
        const res = await fetch("/mcp", {
          method: "POST",
          headers: this.headers({ "Content-Type": "application/json" }),
          body: JSON.stringify(message),
          signal: controller.signal,
        });
        if (res.status === 401) throw new AuthError("the server wants an API key, or refused this one");
        if (res.status === 202) return null;
        const type = res.headers.get("content-type") || "";
        if (!res.ok && !type.includes("json")) throw new Error("HTTP " + res.status);
        if (message.method === "initialize") this.sessionId = res.headers.get("mcp-session-id");
        if (type.includes("text/event-stream")) {
          const messages = sseMessages(await res.text());
          for (const m of messages) if (m.method && m.id === undefined) this.onNotification(m);
          return messages.find((m) => m.id === message.id) || null;
        }
        return await res.json();
      } finally {
        clearTimeout(timer);
      }
    }

    async request(method, params, retried) {
      const message = { jsonrpc: "2.0", id: this.nextId++, method, params: params || {} };
      const answer = await this.post(message);
      if (!answer) throw new Error(method + ": no answer");
      if (answer.error) {
        // The server forgot our MCP session (restart, idle expiry): open a new one, once.
        if (answer.error.code === -32001 && !retried && method !== "initialize") {
          await this.connect();
          return this.request(method, params, true);
        }
        throw new Error(answer.error.message);
      }
      return answer.result;
    }

    async connect() {
      this.sessionId = null;
      const result = await this.request("initialize", {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: CLIENT_INFO,
      });
      await this.post({ jsonrpc: "2.0", method: "notifications/initialized" });
      this.listen();
      return result;
    }

    // The standalone event stream, kept open (reopened after a pause when it ends).
    async listen() {
      if (this.stream) this.stream.abort();
      const controller = new AbortController();
      this.stream = controller;
      const sessionId = this.sessionId;
      try {
        const res = await fetch("/mcp", {
          method: "GET",
          headers: this.headers({ Accept: "text/event-stream" }),
          signal: controller.signal,
        });
        if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
        this.onLive(true);
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          buffer = buffer.replace(/\r\n/g, "\n");
          const cut = buffer.lastIndexOf("\n\n");
          if (cut < 0) continue;
          const complete = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          for (const m of sseMessages(complete)) if (m.method) this.onNotification(m);
        }
      } catch (e) {
        if (controller.signal.aborted) return;
      }
      this.onLive(false);
      if (this.stream === controller && this.sessionId === sessionId) {
        setTimeout(() => { if (this.stream === controller) this.listen(); }, 2000);
      }
    }
  }

  // ---- app mode: the MCP Apps bridge (postMessage JSON-RPC with the host) ---------------------------

  class BridgeMcp {
    constructor() {
      this.nextId = 1;
      this.pending = new Map();
      this.onNotification = () => {};
      this.onLive = () => {};
      window.addEventListener("message", (event) => this.receive(event));
    }

    send(message) { window.parent.postMessage(message, "*"); }

    receive(event) {
      if (event.source !== window.parent) return;
      const m = event.data;
      if (!m || m.jsonrpc !== "2.0") return;
      if (m.method === undefined && this.pending.has(m.id)) {
        const { resolve, reject, timer } = this.pending.get(m.id);
        this.pending.delete(m.id);
        clearTimeout(timer);
        if (m.error) reject(new Error(m.error.message)); else resolve(m.result);
        return;
      }
      if (m.method && m.id !== undefined) {
        // Host requests: ui/resource-teardown (nothing to save), ping.
        this.send({ jsonrpc: "2.0", id: m.id, result: {} });
        return;
      }
      if (m.method) this.onNotification(m);
    }

    request(method, params) {
      const id = this.nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new Error(method + ": the host did not answer"));
        }, REQUEST_TIMEOUT_MS);
        this.pending.set(id, { resolve, reject, timer });
        this.send({ jsonrpc: "2.0", id, method, params: params || {} });
      });
    }

    async connect() {
      const result = await this.request("ui/initialize", {
        appInfo: CLIENT_INFO,
        appCapabilities: {},
        protocolVersion: APP_PROTOCOL_VERSION,
      });
      this.send({ jsonrpc: "2.0", method: "ui/notifications/initialized", params: {} });
      if (window.ResizeObserver) {
        new ResizeObserver(() => {
          this.send({ jsonrpc: "2.0", method: "ui/notifications/size-changed",
                      params: { width: document.documentElement.scrollWidth,
                                height: document.documentElement.scrollHeight } });
        }).observe(document.body);
      }
      return result;
    }
  }

  // ---- state ----------------------------------------------------------------------------------------

  const state = {
    mcp: null,
    view: "sessions",
    session: null,           // the session shown, as memtrace_session_search lists it
    subscribed: null,        // the resource URI subscribed to for live updates
    sessionsCursor: null,
    timelineCursor: null,
    allowForget: false,
  };

  async function callTool(name, args) {
    const result = await state.mcp.request("tools/call", { name, arguments: args || {} });
    const text = (result.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
    if (result.isError) throw new Error(text || name + " failed");
    if (result.structuredContent) return result.structuredContent;
    try { return JSON.parse(text); } catch (e) { return { text }; }
  }

  function notice(message) {
    const el = $("notice");
    el.textContent = message || "";
    el.hidden = !message;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }

  function time(iso) {
    return el("time", { datetime: iso, text: when(iso) });
  }

  function list(text) {
    return (text || "").split(",").map((s) => s.trim()).filter(Boolean);
  }

  function sessionName(s) {
    const m = s.metadata || {};
    for (const key of ["title", "name", "task", "account_id", "project"]) {
      if (typeof m[key] === "string" && m[key]) return m[key];
    }
    return s.id;
  }

  // ---- views ----------------------------------------------------------------------------------------

  function show(view) {
    state.view = view;
    for (const id of ["sessions", "session", "search", "tasks"]) $("view-" + id).hidden = id !== view;
    for (const tab of document.querySelectorAll(".tab")) {
      const current = tab.dataset.view === view || (view === "session" && tab.dataset.view === "sessions");
      if (current) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
    }
  }

  async function loadSessions(more) {
    const args = { status: $("f-status").value, limit: PAGE_SIZE };
    const agent = $("f-agent").value.trim();
    if (agent) args.agent_id = agent;
    const metadata = {};
    for (const pair of list($("f-meta").value)) {
      const eq = pair.indexOf("=");
      if (eq > 0) metadata[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
    if (Object.keys(metadata).length) args.metadata = metadata;
    if (more && state.sessionsCursor) args.cursor = state.sessionsCursor;
    const page = await callTool("memtrace_session_search", args);
    const ul = $("session-list");
    if (!more) ul.replaceChildren();
    for (const s of page.sessions || []) ul.append(sessionCard(s));
    state.sessionsCursor = page.next_cursor || null;
    $("sessions-more").hidden = !state.sessionsCursor;
    $("sessions-empty").hidden = ul.children.length > 0;
  }

  function sessionCard(s) {
    const meta = Object.entries(s.metadata || {}).map(([k, v]) => k + "=" + (typeof v === "string" ? v : JSON.stringify(v)));
    const button = el("button", { type: "button", class: "card", "data-session": s.id, onclick: () => openSession(s) },
      el("span", { class: "name", text: sessionName(s) }), " ",
      el("span", { class: "status " + s.status, text: s.status }),
      el("span", { class: "facts" },
        el("span", { text: s.memory_count + (s.memory_count === 1 ? " memory" : " memories") }),
        el("span", { text: "agents: " + ((s.agents || []).join(", ") || "none") }),
        el("span", {}, "last active ", time(s.last_activity)),
        meta.length ? el("span", { text: meta.join(" \u00b7 ") }) : null));
    return el("li", {}, button);
  }

  async function openSession(s, keepTab) {
    state.session = s;
    show("session");
    $("session-title").textContent = sessionName(s);
    const dl = $("session-meta");
    dl.replaceChildren();
    const row = (k, v) => dl.append(el("dt", { text: k }), el("dd", {}, v));
    row("Session", s.id);
    row("Status", el("span", { class: "status " + s.status, text: s.status }));
    row("Created", el("span", {}, time(s.created_at), " by " + (s.created_by || "?")));
    if (s.closed_at) row("Closed", time(s.closed_at));
    row("Agents", (s.agents || []).join(", ") || "none");
    row("Memories", String(s.memory_count));
    row("Last active", time(s.last_activity));
    for (const [k, v] of Object.entries(s.metadata || {})) row(k, typeof v === "string" ? v : JSON.stringify(v));
    if (!keepTab) selectSubtab("timeline");
    await subscribeTo(s.id);
    await Promise.all([loadTimeline(false), loadContext()]);
  }

  async function subscribeTo(sessionId) {
    if (mode !== "page") return;
    const uri = "memtrace://sessions/" + encodeURIComponent(sessionId);
    if (state.subscribed === uri) return;
    if (state.subscribed) {
      await state.mcp.request("resources/unsubscribe", { uri: state.subscribed }).catch(() => {});
    }
    state.subscribed = uri;
    await state.mcp.request("resources/subscribe", { uri }).catch((e) => notice("Live updates are off: " + e.message));
  }

  function memoryItem(m, fresh) {
    const now = Date.now();
    const expired = m.expires_at && Date.parse(m.expires_at) <= now;
    const superseded = !!m.superseded_by || (m.valid_until && Date.parse(m.valid_until) <= now);
    const cls = ["memory", m.type, superseded ? "superseded" : "", expired ? "expired" : "", fresh ? "fresh" : ""];
    const li = el("li", { class: cls.filter(Boolean).join(" "), "data-memory": m.id },
      el("div", { class: "head" },
        el("span", { class: "type", text: m.type }),
        el("span", { class: "agent", text: m.agent_id }),
        time(m.created_at),
        el("span", { class: "importance", title: "importance", text: "importance " + m.importance }),
        state.view === "search" ? el("span", { class: "in-session", text: "in " + m.session_id }) : null),
      el("p", { class: "content", text: m.content }),
      m.reasoning ? el("p", { class: "reasoning" }, el("strong", { text: "Why: " }), m.reasoning) : null,
      (m.tags || []).length ? el("ul", { class: "tags", "aria-label": "tags" }, ...m.tags.map((t) => el("li", { text: t }))) : null,
      superseded ? el("p", { class: "flag", text: m.superseded_by ? "Superseded by " + m.superseded_by : "No longer valid since " + when(m.valid_until) }) : null,
      m.expires_at ? el("p", { class: "flag", text: (expired ? "Expired " : "Expires ") + when(m.expires_at) }) : null);
    if (mode === "page" && state.allowForget) {
      li.append(el("button", { type: "button", class: "forget", "aria-label": "Forget this memory: " + m.content.slice(0, 60),
                               text: "Forget", onclick: () => forget(m, li) }));
    }
    return li;
  }

  async function loadTimeline(more) {
    if (!state.session) return;
    const args = { session_id: state.session.id, limit: PAGE_SIZE, include_superseded: $("show-superseded").checked,
                   since: "2000-01-01T00:00:00Z" };  // the whole session, not the default last 24h
    if (more && state.timelineCursor) args.cursor = state.timelineCursor;
    const page = await callTool("memtrace_recall", args);
    const ol = $("timeline");
    const seen = new Set([...ol.children].map((li) => li.dataset.memory));
    if (!more) ol.replaceChildren();
    for (const m of page.memories || []) ol.append(memoryItem(m, !more && seen.size > 0 && !seen.has(m.id)));
    state.timelineCursor = page.next_cursor || null;
    $("timeline-more").hidden = !state.timelineCursor;
    $("timeline-empty").hidden = ol.children.length > 0;
  }

  async function loadContext() {
    if (!state.session) return;
    const answer = await callTool("memtrace_session_context", { session_id: state.session.id });
    $("context").textContent = answer.context || answer.text || "";
  }

  async function forget(m, li) {
    if (!window.confirm("Forget this memory for every agent?\n\n" + m.content.slice(0, 200))) return;
    try {
      await callTool("memtrace_forget", { id: m.id });
      li.remove();
      notice("");
    } catch (e) {
      notice("Not forgotten: " + e.message);
    }
  }

  async function runSearch() {
    const args = { limit: PAGE_SIZE, include_superseded: true };
    const content = $("s-content").value.trim();
    if (content) args.content_contains = content;
    const tags = list($("s-tags").value);
    if (tags.length) args.tags = tags;
    const types = list($("s-types").value);
    if (types.length) args.types = types;
    const agent = $("s-agent").value.trim();
    if (agent) args.agent_id = agent;
    const since = $("s-since").value.trim();
    if (since) args.since = since;
    const until = $("s-until").value.trim();
    if (until) args.until = until;
    $("search-status").textContent = "Searching\u2026";
    const page = await callTool("memtrace_search", args);
    const ol = $("search-results");
    ol.replaceChildren(...(page.memories || []).map((m) => memoryItem(m, false)));
    const n = ol.children.length;
    $("search-status").textContent = n === 0 ? "Nothing found." : n + (n === 1 ? " memory found." : " memories found.") +
      (page.next_cursor ? " Showing the first " + n + "." : "");
  }

  // Tasks: their ids from the change feed (task.* kinds), then each one's claim from memtrace://tasks/{id}.
  async function loadTasks() {
    const ids = new Set();
    let cursor;
    for (let pages = 0; pages < 20; ++pages) {
      const args = { kinds: ["task.claimed", "task.released", "task.done", "task.reopened"], limit: 1000 };
      if (cursor) args.cursor = cursor;
      const page = await callTool("memtrace_changes", args);
      for (const c of page.changes || []) ids.add(c.subject);
      cursor = page.next_cursor;
      if (!page.more) break;
    }
    const rows = $("task-rows");
    rows.replaceChildren();
    const views = await Promise.all([...ids].slice(0, 200).map(async (id) => {
      try {
        const read = await state.mcp.request("resources/read", { uri: "memtrace://tasks/" + encodeURIComponent(id) });
        return JSON.parse(read.contents[0].text);
      } catch (e) {
        return { task_id: id, status: "unknown", error: e.message };
      }
    }));
    for (const t of views) {
      const status = t.status || "unknown";
      const claim = t.claim || {};
      const cell = (label, content) => el("td", { "data-label": label }, content);
      rows.append(el("tr", { "data-task": t.task_id },
        cell("Task", t.task_id),
        cell("Status", el("span", { class: "status " + status, text: status })),
        cell("Holder", claim.holder_agent ? claim.holder_agent + " (session " + claim.holder_session + ")" : "\u2014"),
        cell("Lease until", claim.lease_until ? time(claim.lease_until) : "\u2014"),
        cell("Results", String((t.results || []).length))));
    }
    $("tasks").hidden = views.length === 0;
    $("tasks-empty").hidden = views.length > 0;
  }

  function selectSubtab(which) {
    for (const name of ["timeline", "context"]) {
      const selected = name === which;
      const tab = $("tab-" + name);
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      $("pane-" + name).hidden = !selected;
    }
  }

  // ---- live updates ---------------------------------------------------------------------------------

  let refreshTimer = null;
  function onNotification(m) {
    const watched = state.subscribed;
    const sessionChanged = m.method === "notifications/resources/updated" && m.params && m.params.uri === watched;
    const listChanged = m.method === "notifications/resources/list_changed";
    if (!sessionChanged && !listChanged) return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => refresh(sessionChanged).catch((e) => notice(e.message)), 150);
  }

  async function refresh(sessionChanged) {
    if (state.view === "session" && sessionChanged) await Promise.all([loadTimeline(false), loadContext()]);
    if (state.view === "sessions") await loadSessions(false);
  }

  function setLive(on) {
    const live = $("live");
    live.classList.toggle("on", on);
    live.textContent = on ? "live" : mode === "app" ? "in host" : "reconnecting";
  }

  // ---- wiring ---------------------------------------------------------------------------------------

  function guard(fn) {
    return (event) => {
      if (event && event.preventDefault) event.preventDefault();
      notice("");
      Promise.resolve().then(fn).catch((e) => {
        if (e instanceof AuthError) return askForKey(e.message);
        notice(e.message);
      });
    };
  }

  function askForKey(message) {
    for (const id of ["sessions", "session", "search", "tasks"]) $("view-" + id).hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message && state.mcp && state.mcp.key ? message : "";
    $("live").textContent = "signed out";
    $("key").focus();
  }

  async function connect() {
    if (mode === "app") {
      state.mcp = new BridgeMcp();
    } else {
      state.mcp = new HttpMcp(sessionStorage.getItem(KEY_STORAGE) || "");
      $("sign-out").hidden = !state.mcp.key;
    }
    state.mcp.onNotification = (m) => {
      if (m.method === "ui/notifications/tool-input" && m.params && m.params.arguments && m.params.arguments.session_id) {
        openSessionById(m.params.arguments.session_id).catch((e) => notice(e.message));
        return;
      }
      onNotification(m);
    };
    state.mcp.onLive = setLive;
    await state.mcp.connect();
    $("login").hidden = true;
    if (mode === "app") setLive(false);  // page mode: the event stream says when it is live
    show("sessions");
    await loadSessions(false);
    document.body.dataset.ready = "true";
  }

  async function openSessionById(id) {
    const page = await callTool("memtrace_session_search", { status: "any", limit: PAGE_SIZE });
    const s = (page.sessions || []).find((x) => x.id === id);
    if (s) await openSession(s);
  }

  function start() {
    if (mode === "app") {
      $("forget-toggle").hidden = true;
      $("live").textContent = "in host";
    }
    for (const tab of document.querySelectorAll(".tab")) {
      tab.addEventListener("click", guard(async () => {
        const view = tab.dataset.view;
        show(view);
        if (view === "sessions") await loadSessions(false);
        if (view === "tasks") await loadTasks();
        if (view === "search") $("s-content").focus();
      }));
    }
    $("refresh").addEventListener("click", guard(async () => {
      if (state.view === "sessions") await loadSessions(false);
      if (state.view === "session") await Promise.all([loadTimeline(false), loadContext()]);
      if (state.view === "search") await runSearch();
      if (state.view === "tasks") await loadTasks();
    }));
    $("session-filters").addEventListener("submit", guard(() => loadSessions(false)));
    $("sessions-more").addEventListener("click", guard(() => loadSessions(true)));
    $("timeline-more").addEventListener("click", guard(() => loadTimeline(true)));
    $("show-superseded").addEventListener("change", guard(() => loadTimeline(false)));
    $("search-form").addEventListener("submit", guard(runSearch));
    $("back").addEventListener("click", guard(async () => { show("sessions"); await loadSessions(false); }));
    $("tab-timeline").addEventListener("click", () => selectSubtab("timeline"));
    $("tab-context").addEventListener("click", () => selectSubtab("context"));
    for (const name of ["timeline", "context"]) {
      $("tab-" + name).addEventListener("keydown", (e) => {
        if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
        const other = name === "timeline" ? "context" : "timeline";
        selectSubtab(other);
        $("tab-" + other).focus();
      });
    }
    $("allow-forget").addEventListener("change", guard(async () => {
      state.allowForget = $("allow-forget").checked;
      if (state.view === "session") await loadTimeline(false);
      if (state.view === "search") await runSearch();
    }));
    $("login-form").addEventListener("submit", guard(async () => {
      sessionStorage.setItem(KEY_STORAGE, $("key").value.trim());
      $("key").value = "";
      await connect();
    }));
    $("sign-out").addEventListener("click", () => {
      sessionStorage.removeItem(KEY_STORAGE);
      window.location.reload();
    });
    guard(connect)();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
