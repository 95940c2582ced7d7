// gvariant.{h,cc}: the GVariant shapes the addon needs (FORMATS.md §1):
// the content-object file header `(uuuusa(ayay))` (§2.3), the bare-user
// `user.ostreemeta` value `(uuua(ayay))` (§3.3), the `.filez` header (§3.4)
// and, read only, the dirtree `(a(say)a(sayay))` (§5.2). uid/gid/mode are stored
// big-endian ("canonical" order, §1.7); xattr names carry a trailing NUL.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "xattr.h"

namespace ostree {

// Serializes the file header. `xattrs` must already be sorted.
std::string BuildFileHeader(uint32_t uid, uint32_t gid, uint32_t mode,
                            const std::string& symlink_target,
                            const XattrList& xattrs);

// Serializes the archive `.filez` header `(tuuuusa(ayay))` (FORMATS.md §3.4).
std::string BuildZlibHeader(uint64_t size, uint32_t uid, uint32_t gid,
                            uint32_t mode, const std::string& symlink_target,
                            const XattrList& xattrs);

// Serializes `(uuua(ayay))` (dirmeta / user.ostreemeta).
std::string BuildOstreeMeta(uint32_t uid, uint32_t gid, uint32_t mode,
                            const XattrList& xattrs);

// Parses `(uuua(ayay))`; returns false on malformed input. The xattrs come
// back sorted, names without their NUL.
bool ParseOstreeMeta(const std::string& data, uint32_t* uid, uint32_t* gid,
                     uint32_t* mode, XattrList* xattrs);

// Parses the bytes of an `a(ayay)` xattr array (normal framing); the list
// comes back sorted, names without their NUL. False when malformed.
bool ParseXattrs(const std::string& arr, XattrList* xattrs);

// The archive `.filez` header `(tuuuusa(ayay))`, parsed.
struct ZlibHeader {
  uint64_t size = 0;
  uint32_t uid = 0, gid = 0, mode = 0;
  std::string symlink_target;
  XattrList xattrs;  // sorted, names without NUL
};

// Parses a `.filez` header (the bytes after the 8-byte length prefix);
// false when malformed or rdev != 0.
bool ParseZlibHeader(const std::string& data, ZlibHeader* out);

// A dirtree's entries.
struct DirTreeEntries {
  struct File {
    std::string name;
    std::string csum;  // 32 raw bytes
  };
  struct Dir {
    std::string name;
    std::string tree, meta;  // 32 raw bytes each
  };
  std::vector<File> files;
  std::vector<Dir> dirs;
};

// Parses a dirtree in normal form only, and checks it (FORMATS.md §11): valid
// names, each list strictly sorted, no name both a file and a directory.
// False for anything else (the caller's generic path then has the last word).
bool ParseDirTree(const std::string& data, DirTreeEntries* out);

// The structure ostree checks before it stores a metadata object
// (ostree_validate_structureof_{dirmeta,commit}): a dirmeta `(uuua(ayay))`
// whose mode is a directory with no bits outside S_IFMT|07777; a commit
// `(a{sv}aya(say)sstayay)` with well-framed members, a parent of 0 or 32
// bytes, 32-byte root checksums and NUL-terminated UTF-8 strings (the
// metadata dictionary's contents are not walked). A dirtree is checked by
// ParseDirTree.
bool ValidDirMeta(const std::string& data);
bool ValidCommit(const std::string& data);

// The width of the framing offsets a reader derives from a container's total
// size (FORMATS.md §1.3): 0 for an empty container, else 1, 2, 4 or 8 bytes.
size_t ReadWidth(size_t total);
}  // namespace ostree
