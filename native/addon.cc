// addon.cc: module init and the export table only. The boundary is typed in
// lib/binding.ts (NativeBinding); every I/O function returns a Promise.
#include <napi.h>

#include "bspatch.h"
#include "bsdiff.h"
#include "checkout.h"
#include "checkout_files.h"
#include "checkout_plan.h"
#include "checksum.h"
#include "commit.h"
#include "crash_point.h"
#include "content_read.h"
#include "delta_part.h"
#include "digest.h"
#include "errors.h"
#include "fsutil.h"
#include "fsfreeze.h"
#include "lock.h"
#include "objects.h"
#include "pull_scan.h"
#include "pull_store.h"
#include "repo_batch.h"
#include "rollsum.h"
#include "xattr.h"
#include "xz.h"
#include "xz_encode.h"

namespace ostree {

static Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), "0.1.0");
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  struct Entry {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  static const Entry kExports[] = {
      {"version", Version},
      {"crash_point", CrashPointJs},
      {"errors_init", ErrorsInit},
      {"sha256_digest", Sha256Digest},
      {"sha256_info", Sha256Info},
      {"checksum_files", ChecksumFiles},
      {"objects_import", ObjectsImport},
      {"xattrs_get", XattrsGet},
      {"xattrs_set", XattrsSet},
      {"lock_open", LockOpen},
      {"lock_try", LockTry},
      {"lock_close", LockClose},
      {"lock_kind", LockKind},
      {"fs_syncfs", FsSyncfs},
      {"fs_fsync", FsFsync},
      {"fs_freeze_thaw", FsFreezeThaw},
      {"fs_set_immutable", FsSetImmutable},
      {"checkout_batch", CheckoutBatch},
      {"content_write_batch", ContentWriteBatch},
      {"metadata_write_batch", MetadataWriteBatch},
      {"dirs_scan", DirsScan},
      {"checkout_files", CheckoutFiles},
      {"checkout_list_free", CheckoutListFree},
      {"checkout_plan_open", CheckoutPlanOpen},
      {"checkout_plan_next", CheckoutPlanNext},
      {"tree_reachable", TreeReachable},
      {"metadata_read_batch", MetadataReadBatch},
      {"content_verify_batch", ContentVerifyBatch},
      {"objects_unlink_batch", ObjectsUnlinkBatch},
      {"content_store_filez", ContentStoreFilez},
      {"content_store_filez_batch", ContentStoreFilezBatch},
      {"pull_scan_dirtrees", PullScanDirtrees},
      {"xz_decode", XzDecodeJs},
      {"bspatch_apply", BspatchApply},
      {"delta_part_execute", DeltaPartExecute},
      {"xz_encode", XzEncodeJs},
      {"bsdiff", BsdiffJs},
      {"suffix_array", SuffixArrayJs},
      {"rollsum_matches", RollsumMatchesJs},
      {"content_read_batch", ContentReadBatch},
  };
  for (const Entry& e : kExports) {
    exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
  }
  return exports;
}

}  // namespace ostree

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return ostree::Init(env, exports);
}

NODE_API_MODULE(node_ostree, InitAddon)
