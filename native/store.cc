// store.cc: see store.h.
#include "store.h"

namespace ostree {

std::atomic<int> g_empty_path_ok{1};

}  // namespace ostree
