// BoundedQueue: a multi-producer, multi-consumer FIFO with a fixed capacity, used to move value
// types (readings, findings, alerts) between pipeline stages. Its overflow policy is explicit:
// TryPush fails (the caller counts the drop), Push blocks until there is room or the queue closes,
// PushFor waits a bounded time for room.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

namespace gridwatch {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {}
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Appends unless full or closed; returns false then (the caller counts the drop).
  [[nodiscard]] bool TryPush(T value) {
    std::lock_guard lock(mu_);
    if (closed_ || items_.size() >= capacity_) return false;
    Append(std::move(value));
    return true;
  }

  // Blocks while full; returns false only if the queue was closed.
  bool Push(T value) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    Append(std::move(value));
    return true;
  }

  // Waits up to `timeout` for room; false on timeout or when closed (`value` is then left as it
  // was, so the caller may try again).
  bool PushFor(T& value, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!not_full_.wait_for(lock, timeout, [&] { return closed_ || items_.size() < capacity_; }))
      return false;
    if (closed_) return false;
    Append(std::move(value));
    return true;
  }

  // Waits up to `timeout` for an item; nullopt on timeout or when closed and drained.
  std::optional<T> PopFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); }))
      return std::nullopt;
    if (items_.empty()) return std::nullopt;
    T v = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return v;
  }

  // Moves up to `max` items into `out` (appending), waiting up to `timeout` for the first one.
  // Returns the number moved. Batching keeps the lock off the per-item path.
  std::size_t PopBatch(std::vector<T>* out, std::size_t max, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!not_empty_.wait_for(lock, timeout, [&] { return closed_ || !items_.empty(); })) return 0;
    std::size_t n = 0;
    while (n < max && !items_.empty()) {
      out->push_back(std::move(items_.front()));
      items_.pop_front();
      ++n;
    }
    if (n) not_full_.notify_all();
    return n;
  }

  // After Close, pushes fail and pops drain what is left, then return empty.
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  std::size_t Size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }
  std::size_t HighWater() const {
    std::lock_guard lock(mu_);
    return high_water_;
  }
  std::size_t Capacity() const { return capacity_; }
  bool Closed() const {
    std::lock_guard lock(mu_);
    return closed_;
  }

 private:
  // Under mu_, with room: appends and wakes a consumer.
  void Append(T&& value) {
    items_.push_back(std::move(value));
    high_water_ = std::max(high_water_, items_.size());
    not_empty_.notify_one();
  }

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
  std::size_t high_water_ = 0;
  bool closed_ = false;
};

}  // namespace gridwatch
