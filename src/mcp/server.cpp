#include "mcp/server.h"

#include <spdlog/spdlog.h>

#include "mcp/browser_app.h"
#include "mcp/change_tools.h"
#include "mcp/memory_tools.h"
#include "mcp/session_tools.h"
#include "mcp/task_tools.h"
#include "memory/context.h"

namespace memtrace::mcp {

Server::Server(Engine& engine, ServerOptions options)
    : engine_(engine),
      options_(std::move(options)),
      subscriptions_(std::make_shared<SubscriptionRegistry>(
          [&engine](const std::string& ns, ChangeCallback callback) { return engine.watch(ns, std::move(callback)); })),
      workers_(options_.worker_threads) {
  register_memory_tools(tools_, engine_);
  register_session_tools(tools_, engine_);
  register_task_tools(tools_, engine_);
  register_change_tools(tools_, engine_);
  stateless_session_id_ = options_.session_id.empty() ? engine_.new_id() : options_.session_id;
  register_browser_app_tool(tools_);
  // The registry watches the namespaces of the open connections (resources/updated for subscribers,
  // list_changed for every connection of the namespace).
}

Server::~Server() = default;

std::string Server::instructions() const {
  return "memtrace is your memory across conversations, shared with other agents in the same session.\n"
         "- Start of a task: memtrace_recall (what happened lately) or memtrace_search (what is known about "
         "X).\n"
         "- Learned something worth keeping (a preference, a finding, an outcome): memtrace_remember, one "
         "self-contained statement, with tags and an importance from 0 to 1.\n"
         "- Chose between options: memtrace_decide with the decision and the reasoning.\n"
         "- Stored something wrong: memtrace_forget with its id.\n"
         "- Working for a customer or on a task others may have begun: memtrace_session_create with "
         "identifying metadata (e.g. {\"account_id\": \"42\"}) resumes its session; memtrace_session_context "
         "shows what is known there; memtrace_session_close when it is done.\n"
         "- Sharing work with other agents: memtrace_claim_task before starting a task another agent may "
         "pick too (skip it if someone holds it), memtrace_share_result with the outcome when done.\n"
         "Never store secrets such as passwords or API keys.";
}

std::string Server::instructions_for(const Caller& caller) {
  std::string text = instructions();
  if (!options_.context_in_instructions) return text;
  ContextRequest request;
  request.max_tokens = options_.instructions_max_tokens;
  auto digest = session_context(engine_, caller, caller.session_id, request);
  if (!digest) {
    // The instructions still help without the digest; the client can read the context later.
    spdlog::warn("session context left out of the instructions: {}", digest.error().message);
    return text;
  }
  return text + "\n\nWhat memtrace holds for your current session:\n\n" + digest->text;
}

}  // namespace memtrace::mcp
