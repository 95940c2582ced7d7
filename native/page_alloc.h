// page_alloc.h: large buffers taken straight from the kernel (mmap) and
// given back to it when freed. glibc serves a freed large block's size from
// the freeing thread's arena afterwards (its mmap threshold grows to the
// largest block freed, up to 32 MiB), so buffers of a few MiB made on each
// pool thread in turn — decoded delta parts, the xz dictionary — would stay
// resident per thread after use: RSS would follow the number of parts run,
// not the largest one. Buffers of at least kPageAllocMin bytes are mapped
// here instead, so applying a delta holds only the parts in flight.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <string>

namespace ostree {

constexpr size_t kPageAllocMin = 256 * 1024;

// Anonymous memory of `n` bytes (n >= kPageAllocMin); throws std::bad_alloc.
inline void* MapPages(size_t n) {
  void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}

// A std::allocator that maps large blocks and frees them to the kernel.
template <class T>
struct PageAllocator {
  using value_type = T;
  PageAllocator() noexcept = default;
  template <class U>
  PageAllocator(const PageAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    if (n > size_t(-1) / sizeof(T)) throw std::bad_alloc();
    size_t bytes = n * sizeof(T);
    if (bytes >= kPageAllocMin) return static_cast<T*>(MapPages(bytes));
    return static_cast<T*>(::operator new(bytes));
  }
  void deallocate(T* p, size_t n) noexcept {
    size_t bytes = n * sizeof(T);
    if (bytes >= kPageAllocMin) {
      munmap(p, bytes);
    } else {
      ::operator delete(p);
    }
  }
  template <class U>
  bool operator==(const PageAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const PageAllocator<U>&) const noexcept { return false; }
};

// A byte string whose large buffers are mapped (see above).
using PageString = std::basic_string<char, std::char_traits<char>, PageAllocator<char>>;

}  // namespace ostree
