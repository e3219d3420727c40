// In-process micro-benchmarks of the memory engine on the SQLite store (a temp file in WAL mode):
// remember, recall, search and the session context without JSON-RPC, pipes or schema validation in the way.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/clock.h"
#include "corpus.h"
#include "memory/context.h"
#include "memory/engine.h"
#include "store/sqlite/sqlite_store.h"

namespace {

namespace fs = std::filesystem;
using memtrace::Caller;
using memtrace::Engine;
using memtrace::RememberInput;

// One engine on a fresh database file per store size, kept for the whole run (preloading 100k is slow).
struct Fixture {
  fs::path dir;
  memtrace::SystemClock clock;
  std::unique_ptr<memtrace::Store> store;
  std::unique_ptr<Engine> engine;
  Caller caller;
  memtrace::bench::Corpus corpus{7};

  explicit Fixture(long preload) {
    std::string pattern = (fs::temp_directory_path() / "memtrace-engine-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) std::abort();
    dir = pattern;
    memtrace::SqliteOptions options;
    options.path = (dir / "bench.db").string();
    auto opened = memtrace::open_sqlite_store(options);
    if (!opened) {
      std::fprintf(stderr, "cannot open %s: %s\n", options.path.c_str(), opened.error().message.c_str());
      std::abort();
    }
    store = std::move(*opened);
    engine = std::make_unique<Engine>(*store, clock);
    caller.agent_id = "bench";
    caller.session_id = engine->new_id();
    for (long i = 0; i < preload; ++i) remember();
  }
  ~Fixture() {
    engine.reset();
    store.reset();
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  void remember() {
    RememberInput input;
    input.content = corpus.content();
    input.tags = corpus.tags();
    input.importance = corpus.importance();
    if (!engine->remember(caller, std::move(input))) std::abort();
  }

  static Fixture& with(long preload) {
    static std::map<long, std::unique_ptr<Fixture>> fixtures;
    auto& slot = fixtures[preload];
    if (!slot) slot = std::make_unique<Fixture>(preload);
    return *slot;
  }
};

void BM_Remember(benchmark::State& state) {
  Fixture fixture(0);  // its own store: the others keep their sizes
  for (auto _ : state) fixture.remember();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Remember)->Unit(benchmark::kMicrosecond);

void BM_Recall(benchmark::State& state) {
  Fixture& f = Fixture::with(state.range(0));
  memtrace::RecallInput input;
  input.since = "1h";
  input.limit = 20;
  for (auto _ : state) {
    auto page = f.engine->recall(f.caller, input);
    if (!page) state.SkipWithError(page.error().message.c_str());
    benchmark::DoNotOptimize(page);
  }
}
BENCHMARK(BM_Recall)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

void BM_SearchContent(benchmark::State& state) {
  Fixture& f = Fixture::with(state.range(0));
  memtrace::SearchInput input;
  input.limit = 20;
  for (auto _ : state) {
    input.content_contains = f.corpus.word();
    auto page = f.engine->search(f.caller, input);
    if (!page) state.SkipWithError(page.error().message.c_str());
    benchmark::DoNotOptimize(page);
  }
}
BENCHMARK(BM_SearchContent)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

void BM_SearchTag(benchmark::State& state) {
  Fixture& f = Fixture::with(state.range(0));
  memtrace::SearchInput input;
  input.limit = 20;
  for (auto _ : state) {
    input.tags = {f.corpus.tag()};
    auto page = f.engine->search(f.caller, input);
    if (!page) state.SkipWithError(page.error().message.c_str());
    benchmark::DoNotOptimize(page);
  }
}
BENCHMARK(BM_SearchTag)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

// The session context digest of the fixture's own session (every memory preloaded is in it).
void BM_SessionContext(benchmark::State& state) {
  Fixture& f = Fixture::with(state.range(0));
  memtrace::ContextRequest request;
  for (auto _ : state) {
    auto digest = memtrace::session_context(*f.engine, f.caller, "", request);
    if (!digest) state.SkipWithError(digest.error().message.c_str());
    benchmark::DoNotOptimize(digest);
  }
}
BENCHMARK(BM_SessionContext)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
