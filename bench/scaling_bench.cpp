// The rows of the scaling table for one store size: p50, p95 and p99 of each search shape, recall, the
// context read and remember, at each number of calls in flight, from one memtrace-mcp process on stdio.
//
// usage: scaling_bench /path/to/memtrace-mcp --store SPEC --size N [--windows 1,16,64] [--calls 3000]
//                      [--label TEXT] [--tmp DIR] [--settle]
//
// The server is started on SPEC (any --store value; bench/scaling.sh passes a fresh SQLite file or a
// flushed private Redis), filled with N memories of 8 words and 1-2 of 32 tags at 16 in flight, then runs
// each shape `calls` times at each window in turn, after 10 calls of it that are not counted (remember at
// most 300 times a window, so that the store stays near N memories: 3,000 a window would have made the
// 1,000-memory rows those of a store ten times that size by the last window). A call's
// latency is from the moment its request is written to the moment its reply is read, so at W > 1 it
// includes the wait behind the calls ahead of it, as a client sees it. The context read is of the
// server's own session, the one the fill wrote. Percentiles are nearest-rank over the counted calls.
// Every reply is checked (its id, no JSON-RPC error, no isError): a failed call ends the run.
//
// Right after the fill the server may still be indexing what the fill wrote (both stores index content
// after the acknowledgement), and the first shapes measured would share the machine with that work.
// With --settle the server is stopped after the fill, which finishes its indexing (the time the stop
// took says how much was left), and a new one on the same store, resuming the same session, is
// measured: what a store that was filled earlier answers.
//
// Prints one markdown row per shape and window ("| label | memories | in flight | shape | p50 | p95 |
// p99 |", µs) on stdout, and the fill's rate and the server's peak RSS on stderr.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "corpus.h"
#include "stdio_server.h"

namespace {

using memtrace::bench::check_reply;
using memtrace::bench::Clock;
using memtrace::bench::die;
using memtrace::bench::initialize_request;
using memtrace::bench::json;
using memtrace::bench::micros;
using memtrace::bench::Server;
using memtrace::bench::Stats;
using memtrace::bench::tool_call;
namespace fs = std::filesystem;

struct Options {
  std::string binary;
  std::string store;
  long size = 0;
  std::vector<int> windows = {1, 16, 64};
  // 3,000: a p99 is then the 30th slowest call, not the 3rd, and one stall of the machine no longer
  // moves it by milliseconds (300 gave content + tag at 1M 2.7 ms and 7.2 ms in two passes minutes apart).
  long calls = 3000;
  std::string label;
  fs::path tmp;
  bool settle = false;
};

// One kind of call: its name in the table, its tool, a maker of its arguments and, for a write, the most
// calls of it a window measures (0: --calls).
struct Shape {
  const char* name;
  const char* tool;
  std::function<json()> arguments;
  long max_calls = 0;
};

constexpr long kMaxWritesPerWindow = 300;

class ScalingBench {
 public:
  explicit ScalingBench(Options options) : o_(std::move(options)) {}

  void run() {
    auto server = start("scaling-server.log");
    auto t0 = Clock::now();
    drive(
        *server, o_.size, 16, [this] { return std::make_pair("memtrace_remember", remember()); }, nullptr);
    double seconds = micros(Clock::now() - t0) / 1e6;
    std::fprintf(stderr, "%s %ld: filled in %.1f s (%.0f remembers/s)\n", o_.label.c_str(), o_.size, seconds,
                 static_cast<double>(o_.size) / seconds);
    if (o_.settle) {
      // A clean stop indexes what the fill left pending before the process exits.
      t0 = Clock::now();
      if (int code = server->finish(std::chrono::hours(1)); code != 0) {
        die("the server exited with " + std::to_string(code));
      }
      std::fprintf(stderr, "%s %ld: stopped, its indexing finished, in %.1f s\n", o_.label.c_str(), o_.size,
                   micros(Clock::now() - t0) / 1e6);
      server = start("scaling-server-settled.log");
    }

    const std::vector<Shape> shapes = {
        {"search_word", "memtrace_search",
         [this] {
           return json{{"content_contains", text_.word()}, {"limit", 20}};
         }},
        {"search_miss", "memtrace_search",
         [this] {
           return json{{"content_contains", "zzq" + std::to_string(text_.rng()() % 100000)}, {"limit", 20}};
         }},
        {"search_word_tag", "memtrace_search",
         [this] {
           return json{{"content_contains", text_.word()}, {"tags", {text_.tag()}}, {"limit", 20}};
         }},
        {"search_word_imp", "memtrace_search",
         [this] {
           return json{{"content_contains", text_.word()},
                       {"min_importance", 0.9 * text_.importance()},
                       {"limit", 20}};
         }},
        {"search_tag_imp", "memtrace_search",
         [this] {
           return json{{"tags", {text_.tag()}}, {"min_importance", 0.9 * text_.importance()}, {"limit", 20}};
         }},
        {"search_word_tag_since", "memtrace_search",
         [this] {
           return json{
               {"content_contains", text_.word()}, {"tags", {text_.tag()}}, {"since", "1h"}, {"limit", 20}};
         }},
        {"search_tag_imp_until", "memtrace_search",
         [this] {
           return json{{"tags", {text_.tag()}},
                       {"min_importance", 0.9 * text_.importance()},
                       {"until", "2099-01-01T00:00:00Z"},
                       {"limit", 20}};
         }},
        {"recall", "memtrace_recall",
         [] {
           return json{{"since", "1h"}, {"limit", 20}};
         }},
        {"context", "memtrace_session_context", [] { return json::object(); }},
        {"remember", "memtrace_remember", [this] { return remember(); }, kMaxWritesPerWindow},
    };
    for (int window : o_.windows) {
      for (const auto& shape : shapes) {
        auto make = [&shape] { return std::make_pair(shape.tool, shape.arguments()); };
        drive(*server, 10, window, make, nullptr);
        Stats s;
        drive(*server, shape.max_calls > 0 ? std::min(o_.calls, shape.max_calls) : o_.calls, window, make,
              &s);
        std::printf("| %s | %s | %d | %s | %.0f | %.0f | %.0f |\n", o_.label.c_str(),
                    grouped(o_.size).c_str(), window, shape.name, s.percentile(0.50), s.percentile(0.95),
                    s.percentile(0.99));
        std::fflush(stdout);
      }
    }
    auto [hwm, rss] = server->memory_kib();
    std::fprintf(stderr, "%s %ld: server peak RSS %.1f MiB\n", o_.label.c_str(), o_.size, hwm / 1024.0);
    if (int code = server->finish(); code != 0) die("the server exited with " + std::to_string(code));
  }

 private:
  // A server on the store, initialized. With --settle both servers resume one session (by its metadata),
  // so the context read is of the session the fill wrote.
  std::unique_ptr<Server> start(const char* log_name) {
    std::vector<std::string> argv = {o_.binary, "--log-level", "warn", "--store", o_.store};
    if (o_.settle) argv.insert(argv.end(), {"--session-metadata", "bench=scaling"});
    auto server = std::make_unique<Server>(argv, o_.tmp / log_name);
    server->send(initialize_request(0));
    check_reply(server->next_reply());
    server->send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    return server;
  }

  json remember() {
    return json{{"content", text_.words(8)}, {"tags", text_.tags()}, {"importance", text_.importance()}};
  }

  // Keeps `window` calls of `make` (a tool and its arguments) in flight until `total` are answered.
  void drive(Server& server, long total, int window,
             const std::function<std::pair<const char*, json>()>& make, Stats* stats) {
    memtrace::bench::drive(
        server, total, window, next_id_,
        [&make](long id) {
          auto [tool, arguments] = make();
          return tool_call(id, tool, arguments);
        },
        stats);
  }

  static std::string grouped(long n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
      if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
      out += digits[i];
    }
    return out;
  }

  Options o_;
  memtrace::bench::Corpus text_{42, 32};
  long next_id_ = 0;
};

const char* kUsage =
    "usage: scaling_bench /path/to/memtrace-mcp --store SPEC --size N [--windows 1,16,64] [--calls 3000]\n"
    "                     [--label TEXT] [--tmp DIR] [--settle]\n"
    "Fills the store with N memories, then prints the p50/p95/p99 (µs) of each search shape, recall, the\n"
    "context read and remember (at most 300 a window) at each number of calls in flight, as markdown table\n"
    "rows. --settle stops the server after the fill (which finishes its indexing) and measures a new one on\n"
    "the same store.\n";

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) die(a + " needs a value");
      return std::string(argv[++i]);
    };
    auto number = [&](const std::string& text) {
      char* end = nullptr;
      long n = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || n < 1) die(a + " takes a positive number, not '" + text + "'");
      return n;
    };
    if (a == "--store") {
      o.store = value();
    } else if (a == "--size") {
      o.size = number(value());
    } else if (a == "--windows") {
      o.windows.clear();
      std::stringstream list(value());
      for (std::string w; std::getline(list, w, ',');) o.windows.push_back(static_cast<int>(number(w)));
    } else if (a == "--calls") {
      o.calls = number(value());
    } else if (a == "--label") {
      o.label = value();
    } else if (a == "--tmp") {
      o.tmp = value();
    } else if (a == "--settle") {
      o.settle = true;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (!a.empty() && a[0] != '-' && o.binary.empty()) {
      o.binary = a;
    } else {
      die("unknown argument " + a + "\n" + kUsage);
    }
  }
  if (o.binary.empty() || o.store.empty() || o.size == 0) die(std::string("missing arguments\n") + kUsage);
  if (::access(o.binary.c_str(), X_OK) != 0) die(o.binary + " is not an executable");
  if (o.label.empty()) o.label = o.store.substr(0, o.store.find(':'));
  if (o.tmp.empty()) o.tmp = fs::temp_directory_path();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  ScalingBench(parse(argc, argv)).run();
  return 0;
}
