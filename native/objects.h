// objects.{h,cc}: objects_import — writing loose objects into a repository
// (temp file in the object's directory, metadata, optional fsync, then a
// link that never replaces). Mirrors the bare-mode write path of
// ostree-repo-commit.c (commit_loose_regfile_object / _ostree_repo_commit_*).
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value ObjectsImport(const Napi::CallbackInfo& info);

}  // namespace ostree
