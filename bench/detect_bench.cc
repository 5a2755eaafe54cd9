// Detect core benchmark: readings per second through Detector::Observe with the full model and
// every detector on, households in shuffled arrival order (as concentrators deliver them), at
// 30-minute intervals. Beside it, a do-nothing pass over state of the same size (look up the
// household's slot, store the reading) as the memory-bound ceiling.
//
//   build/bench/detect_bench --benchmark_filter=. --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <vector>

#include "detect/detector.h"

namespace gridwatch {
namespace {

constexpr int64_t kStart = 1'700'000'000 - 1'700'000'000 % 86400;
constexpr int kInterval = 1800;

std::shared_ptr<const Registry> MakeRegistry(int n) {
  std::vector<Household> hs;
  hs.reserve(n);
  for (int i = 0; i < n; ++i)
    hs.push_back(Household{"H" + std::to_string(i), "M" + std::to_string(i), "elderly_alone", "S",
                           "C", "G", ""});
  return Registry::FromHouseholds(std::move(hs));
}

// A day-shaped use level for household h at time t, with per-home variety; cheap and
// deterministic so that generating readings does not dominate.
float Use(uint32_t h, int64_t t) {
  const int hour = static_cast<int>((t / 3600) % 24);
  uint32_t x = h * 2654435761u ^ static_cast<uint32_t>(t / kInterval) * 40503u;
  x ^= x >> 13;
  const float noise = (x & 1023) / 1023.0f;
  const bool awake = hour >= 7 && hour < 23;
  return 0.05f + noise * 0.03f + (awake ? 0.1f + noise * 0.4f : 0.0f);
}

void BM_DetectObserve(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto registry = MakeRegistry(n);
  Detector detector(DetectOptions{}, TimeZone::Fixed(8 * 3600), registry);
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937 rng(42);
  std::vector<Finding> findings;
  // Warm up: three days of readings for every home.
  int64_t t = kStart;
  for (int round = 0; round < 3 * 48; ++round) {
    t += kInterval;
    for (int h = 0; h < n; ++h)
      detector.Observe(Reading{t, Use(h, t), static_cast<uint32_t>(h)}, &findings);
    findings.clear();
  }
  int64_t processed = 0;
  std::vector<Reading> batch(n);
  for (auto _ : state) {
    state.PauseTiming();
    std::shuffle(order.begin(), order.end(), rng);
    t += kInterval;
    state.ResumeTiming();
    if (state.range(1)) {
      for (size_t i = 0; i < order.size(); ++i) batch[i] = Reading{t, Use(order[i], t), order[i]};
      detector.ObserveBatch(batch, &findings);
    } else {
      for (uint32_t h : order) detector.Observe(Reading{t, Use(h, t), h}, &findings);
    }
    findings.clear();
    processed += n;
  }
  state.SetItemsProcessed(processed);
  state.counters["ns_per_reading"] = benchmark::Counter(
      static_cast<double>(processed), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["bytes_per_household"] = static_cast<double>(detector.StateBytes()) / n;
}
// Args: households, batched (1: ObserveBatch with prefetch, as the service's workers call it).
BENCHMARK(BM_DetectObserve)
    ->Args({100'000, 0})
    ->Args({100'000, 1})
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1})
    ->Unit(benchmark::kMillisecond);

// The ceiling: the same arrival order over an array of the same per-household size, touching
// one cache line per reading (what any per-home model must at least pay).
void BM_NullPass(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const size_t stride = Detector::ModelBytes();
  std::vector<unsigned char> arena(static_cast<size_t>(n) * stride);
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937 rng(42);
  int64_t t = kStart, processed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::shuffle(order.begin(), order.end(), rng);
    t += kInterval;
    state.ResumeTiming();
    for (uint32_t h : order) {
      const Reading r{t, Use(h, t), h};
      std::memcpy(&arena[static_cast<size_t>(r.household) * stride], &r, sizeof r);
    }
    benchmark::ClobberMemory();
    processed += n;
  }
  state.SetItemsProcessed(processed);
  state.counters["ns_per_reading"] = benchmark::Counter(
      static_cast<double>(processed), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_NullPass)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// AdvanceTo over every household (the silence check of a tick).
void BM_AdvanceTo(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Detector detector(DetectOptions{}, TimeZone::Fixed(0), MakeRegistry(n));
  std::vector<Finding> findings;
  int64_t t = kStart;
  for (int round = 0; round < 4; ++round) {
    t += kInterval;
    for (int h = 0; h < n; ++h)
      detector.Observe(Reading{t, Use(h, t), static_cast<uint32_t>(h)}, &findings);
  }
  for (auto _ : state) {
    t += 60;
    detector.AdvanceTo(t, &findings);
    findings.clear();
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_AdvanceTo)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// Checkpoint and restore of every model of a shard (raw, versioned) through a file in /tmp, with
// fsync-free writes: what a periodic checkpoint and a restart cost.
void BM_CheckpointSave(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Detector detector(DetectOptions{}, TimeZone::Fixed(0), MakeRegistry(n));
  std::vector<Finding> findings;
  for (int h = 0; h < n; ++h)
    detector.Observe(Reading{kStart + kInterval, Use(h, kStart), static_cast<uint32_t>(h)},
                     &findings);
  const std::string path = "/tmp/gridwatch-bench.ckpt";
  for (auto _ : state) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    detector.Save(out);
    out.close();
  }
  state.counters["bytes"] = static_cast<double>(std::filesystem::file_size(path));
  std::filesystem::remove(path);
}
BENCHMARK(BM_CheckpointSave)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_CheckpointLoad(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto registry = MakeRegistry(n);
  Detector detector(DetectOptions{}, TimeZone::Fixed(0), registry);
  std::vector<Finding> findings;
  for (int h = 0; h < n; ++h)
    detector.Observe(Reading{kStart + kInterval, Use(h, kStart), static_cast<uint32_t>(h)},
                     &findings);
  const std::string path = "/tmp/gridwatch-bench.ckpt";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    detector.Save(out);
  }
  Detector restored(DetectOptions{}, TimeZone::Fixed(0), registry);
  for (auto _ : state) {
    std::ifstream in(path, std::ios::binary);
    if (!restored.Load(in)) state.SkipWithError("checkpoint did not load");
  }
  std::filesystem::remove(path);
}
BENCHMARK(BM_CheckpointLoad)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace gridwatch

BENCHMARK_MAIN();
