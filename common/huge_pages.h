// HugePageAllocator: an allocator for large, randomly accessed arrays (a city's household
// models). Memory comes straight from mmap, rounded up to 2 MiB and advised MADV_HUGEPAGE
// *before* it is first touched, so that the kernel backs it with transparent huge pages where
// they are enabled in madvise mode (Debian's default): one TLB entry per 2 MiB instead of per
// 4 KiB, which saves a page walk on nearly every reading. (Advising after a std::vector has
// value-initialized its storage is too late: the 4 KiB pages are already faulted in.)
// Advice only; elsewhere it behaves like any anonymous mapping.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>

namespace gridwatch {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  static size_t Rounded(size_t n) {
    const size_t bytes = n * sizeof(T);
    return bytes >= kHugePage ? (bytes + kHugePage - 1) & ~(kHugePage - 1) : bytes;
  }
  T* allocate(size_t n) {
    const size_t bytes = Rounded(n);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    if (bytes >= kHugePage) madvise(p, bytes, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) { munmap(p, Rounded(n)); }

  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

}  // namespace gridwatch
