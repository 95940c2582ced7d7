// zlib_static.h: the zlib header matching the static libz.a the addon links
// (see scripts/zlib-header.js: the build passes its path as OSTREE_ZLIB_H, so
// Node's own zlib.h, first on the include path and possibly another release,
// is never used). No zlib symbol comes from the host process.
#pragma once

#ifdef OSTREE_ZLIB_H
#include OSTREE_ZLIB_H
#else
#error "OSTREE_ZLIB_H is not set: build with node-gyp (binding.gyp) or cmake-js (CMakeLists.txt)"
#endif
