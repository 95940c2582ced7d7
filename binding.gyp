{
  "targets": [
    {
      "target_name": "node_ostree",
      "sources": [
        "native/addon.cc",
        "native/args.cc",
        "native/errors.cc",
        "native/gvariant.cc",
        "native/sha256.cc",
        "native/digest.cc",
        "native/checksum.cc",
        "native/xattr.cc",
        "native/lock.cc",
        "native/fsutil.cc",
        "native/fsfreeze.cc",
        "native/objects.cc",
        "native/checkout.cc",
        "native/commit.cc",
        "native/store.cc",
        "native/objread.cc",
        "native/checkout_files.cc",
        "native/checkout_plan.cc",
        "native/repo_batch.cc",
        "native/pull_store.cc",
        "native/pull_scan.cc",
        "native/xz.cc",
        "native/bspatch.cc",
        "native/delta_part.cc",
        "native/xz_encode.cc",
        "native/suffix_array.cc",
        "native/bsdiff.cc",
        "native/rollsum.cc",
        "native/crash_point.cc",
        "native/content_read.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "_GNU_SOURCE",
        "_FILE_OFFSET_BITS=64",
        "OSTREE_ZLIB_H=<!(node scripts/zlib-header.js)"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-fvisibility=hidden", "-fvisibility-inlines-hidden", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags": ["-fvisibility=hidden", "-O2"],
      "libraries": [
        "<!(${CC:-cc} -print-file-name=liblzma.a)",
        "<!(${CC:-cc} -print-file-name=libz.a)"
      ],
      "ldflags": [
        "-Wl,--exclude-libs,ALL",
        "-Wl,--version-script=<(module_root_dir)/native/exports.map"
      ]
    }
  ]
}
