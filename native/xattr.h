// xattr.{h,cc}: extended attributes through the l*/f* syscalls (never
// following symlinks), plus the xattrs_get / xattrs_set exports.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "errors.h"

namespace ostree {

struct Xattr {
  std::string name;   // without the trailing NUL
  std::string value;  // raw bytes
};
using XattrList = std::vector<Xattr>;

// Sorts by name bytewise (strcmp order).
void SortXattrs(XattrList* list);

// Reads all xattrs of `path` (lgetxattr family) or of `fd` when fd >= 0,
// sorted by name. ENOTSUP yields an empty list. Attributes with empty values
// are dropped when `skip_empty`. On failure fills `err` and returns false.
bool ReadXattrs(const std::string& path, int fd, bool skip_empty,
                XattrList* out, SysError* err);

// Reads one attribute. *found = false on ENODATA / ENOTSUP.
bool ReadXattr(const std::string& path, int fd, const char* name,
               std::string* value, bool* found, SysError* err);

// Sets every attribute (fsetxattr when fd >= 0, else lsetxattr).
bool WriteXattrs(const std::string& path, int fd, const XattrList& list,
                 SysError* err);

Napi::Value XattrsGet(const Napi::CallbackInfo& info);
Napi::Value XattrsSet(const Napi::CallbackInfo& info);

}  // namespace ostree
