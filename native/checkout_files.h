// checkout_files.{h,cc}: checkout_files(job, opts) — the file phase of a
// checkout, one pool job per call (JS runs several in parallel). For each
// (directory, name, checksum) it loads the content object from the first
// store that has it and materialises it: hardlink from a bare object (with
// copy fallback on EXDEV/EMLINK/EPERM), hardlink through the archive
// uncompressed-objects cache (decompressing into it when missing), or a copy
// (payload copied or inflated; -U strips suid/sgid and adds u+r; otherwise
// uid/gid/xattrs are applied), or a symlink. A missing or unreadable object
// stops the job and is reported in the result (`failure`), so the caller can
// produce its own error; destination-side failures reject the promise.
//
// A job is either arrays from JS ({dirs, fileDir, names, csums}) or a range
// {list, start, end} of a file list made natively (checkout_plan_next), so
// that a checkout's names and checksums never cross into JS.
// checkout_list_free(list) drops such a list as soon as the caller is done
// with it (jobs still running keep it until they end).
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ostree {

// Files grouped by destination directory (read-only once made, so that
// several jobs may share it).
struct CheckoutFileList {
  std::vector<std::string> dirs;    // absolute destination directories
  std::vector<uint32_t> file_dir;   // per file: index into dirs (a dir's files consecutive)
  std::string names;                // the files' names, each followed by a NUL
  std::vector<uint32_t> name_at;    // per file: where its name starts in `names`
  std::string csums;                // per file: 64 lowercase hex characters

  size_t size() const { return file_dir.size(); }
  const char* name(size_t i) const { return names.data() + name_at[i]; }
  void Add(uint32_t dir, const std::string& name, const char* hex) {
    file_dir.push_back(dir);
    name_at.push_back(static_cast<uint32_t>(names.size()));
    names.append(name.c_str(), name.size() + 1);
    csums.append(hex, 64);
  }
};

// The list as a type-tagged External for JS (and back; false with a pending
// TypeError for anything else).
Napi::Value WrapFileList(Napi::Env env, std::shared_ptr<const CheckoutFileList> list);
bool UnwrapFileList(Napi::Env env, Napi::Value v, std::shared_ptr<const CheckoutFileList>* out);

Napi::Value CheckoutFiles(const Napi::CallbackInfo& info);
Napi::Value CheckoutListFree(const Napi::CallbackInfo& info);

}  // namespace ostree
