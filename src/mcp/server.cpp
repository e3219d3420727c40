#include "mcp/server.h"

#include "mcp/memory_tools.h"

namespace memtrace::mcp {

Server::Server(Engine& engine, ServerOptions options)
    : engine_(engine), options_(std::move(options)), workers_(options_.worker_threads) {
  register_memory_tools(tools_, engine_);
}

Server::~Server() = default;

std::string Server::instructions() const {
  return "memtrace is your memory across conversations, shared with other agents in the same session.\n"
         "- Start of a task: memtrace_recall (what happened lately) or memtrace_search (what is known about X).\n"
         "- Learned something worth keeping (a preference, a finding, an outcome): memtrace_remember, one "
         "self-contained statement, with tags and an importance from 0 to 1.\n"
         "- Chose between options: memtrace_decide with the decision and the reasoning.\n"
         "- Stored something wrong: memtrace_forget with its id.\n"
         "Never store secrets such as passwords or API keys.";
}

}  // namespace memtrace::mcp
