// delta_part.cc: see delta_part.h. Written from FORMATS.md §8.4–§8.6.
#include "delta_part.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zlib_static.h"  // Node's own zlib, as commit.cc

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "args.h"
#include "bspatch.h"
#include "fsutil.h"
#include "gvariant.h"
#include "objread.h"
#include "sha256.h"
#include "store.h"
#include "worker.h"
#include "xattr.h"
#include "xz.h"

namespace ostree {

namespace {

constexpr size_t kRecord = 33;  // object type + 32-byte checksum
constexpr size_t kChunk = 256 * 1024;

// Op codes and their slots in the statistics (ostree's order).
constexpr uint8_t kOpSplice = 'S', kOpOpen = 'o', kOpWrite = 'w', kOpSetRead = 'r',
                  kOpUnsetRead = 'R', kOpClose = 'c', kOpBspatch = 'B';

int OpSlot(uint8_t op) {
  switch (op) {
    case kOpSplice: return 0;
    case kOpOpen: return 1;
    case kOpWrite: return 2;
    case kOpSetRead: return 3;
    case kOpUnsetRead: return 4;
    case kOpClose: return 5;
    case kOpBspatch: return 6;
    default: return -1;
  }
}

const char* OpName(uint8_t op) {
  switch (op) {
    case kOpSplice: return "open-splice-and-close";
    case kOpOpen: return "open";
    case kOpWrite: return "write";
    case kOpSetRead: return "set-read-source";
    case kOpUnsetRead: return "unset-read-source";
    case kOpClose: return "close";
    default: return nullptr;  // bspatch errors carry no prefix in ostree
  }
}

const char* TypeName(uint8_t t) {
  switch (t) {
    case 1: return "file";
    case 2: return "dirtree";
    case 3: return "dirmeta";
    case 4: return "commit";
    default: return "unknown";
  }
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = kHex[p[i] >> 4];
    s[2 * i + 1] = kHex[p[i] & 15];
  }
  return s;
}

std::string Oct(uint32_t v, int width) {
  char buf[32];
  snprintf(buf, sizeof buf, "%0*o", width, v);
  return buf;
}

// A failure caused by the part's data rather than by the system.
struct PartError {
  // "checksum" (the part file's SHA-256), "open" (decompressing or parsing
  // the body) or "corrupt" (executing the operations)
  std::string kind;
  std::string message;
  bool failed() const { return !message.empty(); }
  bool Set(const std::string& k, const std::string& m) {
    kind = k;
    message = m;
    return false;
  }
  bool Corrupt(const std::string& m) { return Set("corrupt", m); }
};

struct Span {
  const uint8_t* p = nullptr;
  size_t n = 0;
};

uint64_t LE(const uint8_t* p, size_t w) {
  uint64_t v = 0;
  for (size_t i = 0; i < w; i++) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

uint32_t BE32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

// The part body `(a(uuu)aa(ayay)ayay)`: three framing offsets at the end
// (for the first three members), members 1–3 are 1-aligned.
bool ParseBody(Span body, Span* modes, std::vector<Span>* xattrs, Span* payload, Span* ops) {
  const size_t n = body.n;
  const size_t w = ReadWidth(n);
  if (n < 3 * w || n == 0) return false;
  const uint8_t* p = body.p;
  uint64_t e0 = LE(p + n - w, w), e1 = LE(p + n - 2 * w, w), e2 = LE(p + n - 3 * w, w);
  const size_t frame = n - 3 * w;
  if (!(e0 <= e1 && e1 <= e2 && e2 <= frame)) return false;
  *modes = {p, size_t(e0)};
  if (modes->n % 12 != 0) return false;
  *payload = {p + e1, size_t(e2 - e1)};
  *ops = {p + e2, size_t(frame - e2)};
  // aa(ayay): a variable-element array; its offset table ends it.
  xattrs->clear();
  Span xs{p + e0, size_t(e1 - e0)};
  if (xs.n == 0) return true;
  size_t xw = ReadWidth(xs.n);
  uint64_t table = LE(xs.p + xs.n - xw, xw);
  if (table > xs.n - xw || (xs.n - table) % xw != 0) return false;
  size_t count = (xs.n - table) / xw;
  uint64_t prev = 0;
  for (size_t i = 0; i < count; i++) {
    uint64_t e = LE(xs.p + table + i * xw, xw);
    if (e < prev || e > table) return false;
    xattrs->push_back({xs.p + prev, size_t(e - prev)});
    prev = e;
  }
  return prev == table;
}

// The executor of one part's operations.
class PartExecutor {
 public:
  PartExecutor(std::vector<ObjectDir>* stores, bool fsync, int zlib_level, bool stats_only)
      : stores_(stores),
        mode_((*stores)[0].mode),
        store_((*stores)[0].path, fsync),
        reader_(stores, false),
        zlib_level_(zlib_level),
        stats_only_(stats_only) {}

  ~PartExecutor() {
    DiscardOutput();
    if (z_ready_) deflateEnd(&zs_);
  }

  uint64_t written = 0, existed = 0, bytes = 0;
  uint32_t ops[7] = {0, 0, 0, 0, 0, 0, 0};

  bool Run(Span modes, const std::vector<Span>& xattrs, Span payload, Span opdata,
           const std::string& objects, PartError* perr, SysError* err) {
    modes_ = modes;
    xattr_table_ = &xattrs;
    payload_ = payload;
    objects_ = &objects;
    n_objects_ = objects.size() / kRecord;
    if (!stats_only_ && !store_.Open(err)) return false;
    if (n_objects_ == 0) return true;  // ostree skips an empty part entirely
    op_ = opdata.p;
    oplen_ = opdata.n;
    uint32_t executed = 0;
    while (oplen_ > 0) {
      uint8_t op = *op_++;
      oplen_--;
      int slot = OpSlot(op);
      if (slot < 0) return perr->Corrupt("Unknown opcode " + std::to_string(op) + " at offset " + std::to_string(executed));
      bool ok = Dispatch(op, perr, err);
      if (!ok) {
        const char* name = OpName(op);
        if (perr->failed() && name) perr->message = std::string("opcode ") + name + ": " + perr->message;
        return false;
      }
      executed++;
      ops[slot]++;
    }
    if (stats_only_) return true;
    if (open_) return perr->Corrupt("Delta part ended with object " + Csum(index_) + " still open");
    if (index_ != n_objects_) {
      return perr->Corrupt("Delta part ended after " + std::to_string(index_) + " of its " +
                           std::to_string(n_objects_) + " objects");
    }
    return true;
  }

 private:
  // ------------------------------------------------------------ op stream

  bool Varint(uint64_t* v, PartError* perr) {
    uint64_t r = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (oplen_ == 0) break;
      uint8_t b = *op_++;
      oplen_--;
      if (shift == 63 && (b & 0x7e)) break;  // beyond 64 bits
      r |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *v = r;
        return true;
      }
    }
    return perr->Corrupt("Unexpected EOF reading varint");
  }

  bool CheckOfs(uint64_t offset, uint64_t length, PartError* perr) {
    if (offset + length < offset || offset + length > payload_.n) {
      return perr->Corrupt("Invalid offset/length " + std::to_string(offset) + "/" + std::to_string(length));
    }
    return true;
  }

  std::string Csum(size_t i) const { return Hex(reinterpret_cast<const uint8_t*>(objects_->data()) + i * kRecord + 1, 32); }
  uint8_t Type(size_t i) const { return static_cast<uint8_t>((*objects_)[i * kRecord]); }

  // The next listed object becomes the current one.
  bool NextObject(PartError* perr) {
    if (open_) return perr->Corrupt("Object " + Csum(index_) + " is still open");
    if (index_ >= n_objects_) return perr->Corrupt("More objects than the part lists (" + std::to_string(n_objects_) + ")");
    uint8_t t = Type(index_);
    if (t < 1 || t > 4) return perr->Corrupt("Invalid object type " + std::to_string(t));
    csum_ = Csum(index_);
    return true;
  }

  // mode and xattr indexes, then the object's (uid, gid, mode) and xattrs.
  bool ContentMeta(PartError* perr) {
    uint64_t mi, xi;
    if (!Varint(&mi, perr) || !Varint(&xi, perr)) return false;
    if (mi >= modes_.n / 12) return perr->Corrupt("Invalid mode index " + std::to_string(mi));
    if (xi >= xattr_table_->size()) return perr->Corrupt("Invalid xattr index " + std::to_string(xi));
    const uint8_t* m = modes_.p + mi * 12;
    uid_ = BE32(m);
    gid_ = BE32(m + 4);
    mode_bits_ = BE32(m + 8);
    const Span& x = (*xattr_table_)[xi];
    if (!ParseXattrs(std::string(reinterpret_cast<const char*>(x.p), x.n), &xattrs_)) {
      return perr->Corrupt("Invalid xattrs at index " + std::to_string(xi));
    }
    return true;
  }

  bool Dispatch(uint8_t op, PartError* perr, SysError* err) {
    switch (op) {
      case kOpSplice: return Splice(perr, err);
      case kOpOpen: return Open(perr, err);
      case kOpWrite: return Write(perr, err);
      case kOpSetRead: return SetRead(perr, err);
      case kOpUnsetRead:
        UnsetRead();
        return true;
      case kOpClose: return Close(perr, err);
      case kOpBspatch: return Patch(perr, err);
    }
    return false;
  }

  bool Splice(PartError* perr, SysError* err) {
    if (!NextObject(perr)) return false;
    uint8_t t = Type(index_);
    if (t != 1) {
      uint64_t length, offset;
      if (!Varint(&length, perr) || !Varint(&offset, perr) || !CheckOfs(offset, length, perr)) return false;
      if (!stats_only_ && !WriteMetadata(t, payload_.p + offset, size_t(length), perr, err)) return false;
    } else {
      uint64_t size, offset;
      if (!ContentMeta(perr) || !Varint(&size, perr) || !Varint(&offset, perr) || !CheckOfs(offset, size, perr)) return false;
      if (!stats_only_) {
        const uint8_t* data = payload_.p + offset;
        if (!S_ISREG(mode_bits_) && !S_ISLNK(mode_bits_)) {
          return perr->Corrupt("Invalid file mode 0" + Oct(mode_bits_, 0) + " for object " + csum_);
        }
        if (S_ISLNK(mode_bits_)) {
          std::string target(reinterpret_cast<const char*>(data), size_t(size));
          if (!WriteSymlink(target, perr, err)) return false;
        } else {
          content_size_ = size;
          if (!Begin(perr, err) || !Append(data, size_t(size), perr, err) || !Finish(perr, err)) return false;
        }
      }
    }
    Advance();
    return true;
  }

  bool Open(PartError* perr, SysError* err) {
    if (!NextObject(perr)) return false;
    if (Type(index_) != 1) return perr->Corrupt("Object " + csum_ + " is not a content object");
    if (!ContentMeta(perr) || !Varint(&content_size_, perr)) return false;
    open_ = true;
    if (stats_only_) return true;
    if (!S_ISREG(mode_bits_)) return perr->Corrupt("Invalid file mode 0" + Oct(mode_bits_, 0) + " for object " + csum_);
    return Begin(perr, err);
  }

  bool Write(PartError* perr, SysError* err) {
    uint64_t length, offset;
    if (!Varint(&length, perr) || !Varint(&offset, perr)) return false;
    if (stats_only_) return true;
    if (!open_) return perr->Corrupt("No object is open");
    if (have_obj_) return true;
    if (src_set_) return CopyFromSource(offset, length, perr, err);
    if (!CheckOfs(offset, length, perr)) return false;
    return Append(payload_.p + offset, size_t(length), perr, err);
  }

  bool SetRead(PartError* perr, SysError* err) {
    UnsetRead();
    uint64_t offset;
    if (!Varint(&offset, perr) || !CheckOfs(offset, 32, perr)) return false;
    if (stats_only_) return true;
    src_csum_ = Hex(payload_.p + offset, 32);
    LoadStatus s = reader_.Load(src_csum_.c_str(), &src_, err);
    if (s == LoadStatus::kMissing) {
      *err = SysError();
      return perr->Corrupt("Read source " + src_csum_ + " is not in the repository");
    }
    if (s != LoadStatus::kOk) return false;
    if (src_.is_symlink) return perr->Corrupt("Read source " + src_csum_ + " is not a regular file");
    if ((*stores_)[src_.store].mode == RepoMode::kArchive) {
      if (!LoadSourceData(err)) return false;
    } else if (!src_.fd.ok() && !reader_.OpenPayload(&src_, err)) {
      return false;
    }
    src_set_ = true;
    return true;
  }

  void UnsetRead() {
    src_set_ = false;
    src_in_mem_ = false;
    src_ = ContentObject();
    PageString().swap(src_mem_);
  }

  bool Close(PartError* perr, SysError* err) {
    if (!open_) return perr->Corrupt("No object is open");
    if (!stats_only_ && !Finish(perr, err)) return false;
    Advance();
    return true;
  }

  bool Patch(PartError* perr, SysError* err) {
    uint64_t offset, length;
    if (!Varint(&offset, perr) || !Varint(&length, perr)) return false;
    if (stats_only_) return true;
    if (!open_) return perr->Corrupt("No object is open");
    if (!CheckOfs(offset, length, perr)) return false;
    if (have_obj_) return true;
    if (!src_set_) return perr->Corrupt("bsdiff patch without a read source");
    if (!src_in_mem_ && !LoadSourceData(err)) return false;
    std::string msg;
    BspatchResult r = Bspatch(reinterpret_cast<const uint8_t*>(src_mem_.data()), src_mem_.size(),
                              payload_.p + offset, size_t(length), content_size_ - out_written_,
                              [&](const uint8_t* d, size_t n) { return Append(d, n, perr, err); }, &msg);
    if (r == BspatchResult::kFailed) return perr->Corrupt(msg);
    return r == BspatchResult::kOk;
  }

  // The current object is done: next one, no read source.
  void Advance() {
    open_ = false;
    have_obj_ = false;
    index_++;
    UnsetRead();
  }

  // ------------------------------------------------------------ read source

  bool LoadSourceData(SysError* err) {
    PageString data;
    const ObjectDir& s = (*stores_)[src_.store];
    if (s.mode == RepoMode::kArchive) {
      try {
        data.reserve(size_t(src_.size));
      } catch (const std::bad_alloc&) {
        return err->Set(ENOMEM, "malloc", s.Full(src_.rel));
      }
      if (!reader_.ReadPayload(&src_, err, [&](const char* p, size_t n) {
            data.append(p, n);
            return true;
          })) {
        return false;
      }
    } else {
      if (lseek(src_.fd.get(), 0, SEEK_SET) < 0) return err->Set(errno, "lseek", s.Full(src_.rel));
      struct stat st;
      if (fstat(src_.fd.get(), &st) < 0) return err->Set(errno, "fstat", s.Full(src_.rel));
      if (!ReadToEnd(src_.fd.get(), size_t(st.st_size), &data)) return err->Set(errno, "read", s.Full(src_.rel));
    }
    src_mem_.swap(data);
    src_in_mem_ = true;
    return true;
  }

  bool CopyFromSource(uint64_t offset, uint64_t length, PartError* perr, SysError* err) {
    if (src_in_mem_) {
      if (offset > src_mem_.size() || length > src_mem_.size() - offset) {
        return perr->Corrupt("Unexpected EOF reading object " + src_csum_);
      }
      return Append(reinterpret_cast<const uint8_t*>(src_mem_.data()) + offset, size_t(length), perr, err);
    }
    const ObjectDir& s = (*stores_)[src_.store];
    std::vector<uint8_t>& buf = scratch_;
    while (length > 0) {
      size_t want = size_t(std::min<uint64_t>(length, buf.size()));
      ssize_t n = pread(src_.fd.get(), buf.data(), want, off_t(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return err->Set(errno, "read", s.Full(src_.rel));
      }
      if (n == 0) return perr->Corrupt("Unexpected EOF reading object " + src_csum_);
      if (!Append(buf.data(), size_t(n), perr, err)) return false;
      length -= uint64_t(n);
      offset += uint64_t(n);
    }
    return true;
  }

  // ------------------------------------------------------------ writing

  bool Exists(bool* exists, SysError* err) {
    *exists = false;
    for (ObjectDir& s : *stores_) {
      struct stat st;
      if (fstatat(s.objfd.get(), s.Rel(csum_.c_str()).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        *exists = true;
        return true;
      }
      if (errno != ENOENT && errno != ENOTDIR) return err->Set(errno, "fstatat", s.Full(s.Rel(csum_.c_str())));
    }
    return true;
  }

  bool CheckUserOnly(PartError* perr) {
    if (mode_ == RepoMode::kBareUserOnly && S_ISREG(mode_bits_) && (mode_bits_ & ~uint32_t(S_IFREG | 0775))) {
      uint32_t bits = mode_bits_ & ~uint32_t(S_IFMT) & ~0775u;
      return perr->Corrupt("Content object " + csum_ + ": invalid mode 0" + Oct(mode_bits_, 4) + " with bits 0" + Oct(bits, 4));
    }
    return true;
  }

  // The hash of a content object starts with its framed file header.
  bool HashHeader(const std::string& target, SysError* err) {
    std::string header = BuildFileHeader(uid_, gid_, mode_bits_, target, xattrs_);
    unsigned char hp[8] = {0};
    uint32_t hl = uint32_t(header.size());
    hp[0] = uint8_t(hl >> 24);
    hp[1] = uint8_t(hl >> 16);
    hp[2] = uint8_t(hl >> 8);
    hp[3] = uint8_t(hl);
    if (!sha_.Reset() || !sha_.Update(hp, 8) || !sha_.Update(header.data(), header.size())) {
      return err->Set(EIO, "sha256", csum_, "", "SHA-256 failed");
    }
    return true;
  }

  // Opens the output for a regular file of content_size_ bytes (or notes
  // that the repository already has it).
  bool Begin(PartError* perr, SysError* err) {
    out_written_ = 0;
    if (!Exists(&have_obj_, err)) return false;
    if (have_obj_) return true;
    if (!CheckUserOnly(perr) || !HashHeader("", err)) return false;
    where_ = store_.ObjPath(ObjectStore::Rel(csum_, mode_ == RepoMode::kArchive ? "filez" : "file"));
    if (!store_.CreateTmp(&out_, err)) return false;
    out_active_ = true;
    if (mode_ == RepoMode::kArchive) {
      std::string zh = BuildZlibHeader(content_size_, uid_, gid_, mode_bits_, "", xattrs_);
      unsigned char prefix[8] = {0};
      uint32_t hl = uint32_t(zh.size());
      prefix[0] = uint8_t(hl >> 24);
      prefix[1] = uint8_t(hl >> 16);
      prefix[2] = uint8_t(hl >> 8);
      prefix[3] = uint8_t(hl);
      if (!WriteAll(out_.fd.get(), reinterpret_cast<char*>(prefix), 8, where_, err) ||
          !WriteAll(out_.fd.get(), zh.data(), zh.size(), where_, err)) {
        return false;
      }
      if (!z_ready_) {
        memset(&zs_, 0, sizeof zs_);
        if (deflateInit2(&zs_, zlib_level_, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
          return err->Set(ENOMEM, "deflateInit2", where_, "", "zlib initialisation failed");
        }
        z_ready_ = true;
      } else if (deflateReset(&zs_) != Z_OK) {
        return err->Set(EIO, "deflateReset", where_, "", "zlib reset failed");
      }
    }
    return true;
  }

  bool Deflate(const uint8_t* data, size_t n, int flush, SysError* err) {
    zs_.next_in = const_cast<Bytef*>(data);
    zs_.avail_in = uInt(n);
    if (zbuf_.size() < kChunk) zbuf_.resize(kChunk);
    for (;;) {
      zs_.next_out = reinterpret_cast<Bytef*>(zbuf_.data());
      zs_.avail_out = uInt(zbuf_.size());
      int r = deflate(&zs_, flush);
      if (r == Z_STREAM_ERROR) return err->Set(EIO, "deflate", where_, "", "zlib compression failed");
      size_t got = zbuf_.size() - zs_.avail_out;
      if (got && !WriteAll(out_.fd.get(), zbuf_.data(), got, where_, err)) return false;
      if (flush == Z_FINISH ? r == Z_STREAM_END : (zs_.avail_in == 0 && zs_.avail_out != 0)) return true;
    }
  }

  // Appends file data to the open object.
  bool Append(const uint8_t* data, size_t n, PartError* perr, SysError* err) {
    if (have_obj_) return true;
    if (n > content_size_ - out_written_) return perr->Corrupt("More data than the size of object " + csum_);
    out_written_ += n;
    if (!sha_.Update(data, n)) return err->Set(EIO, "sha256", csum_, "", "SHA-256 failed");
    if (mode_ == RepoMode::kArchive) {
      // deflate takes at most 4 GiB at once.
      while (n > 0) {
        size_t k = std::min<size_t>(n, 1u << 30);
        if (!Deflate(data, k, Z_NO_FLUSH, err)) return false;
        data += k;
        n -= k;
      }
      return true;
    }
    return WriteAll(out_.fd.get(), reinterpret_cast<const char*>(data), n, where_, err);
  }

  // Checks size and checksum, then links the object into objects/.
  bool Finish(PartError* perr, SysError* err) {
    if (have_obj_) {
      existed++;
      return true;
    }
    if (out_written_ != content_size_) {
      DiscardOutput();
      return perr->Corrupt("Object " + csum_ + " has " + std::to_string(out_written_) + " of its " +
                           std::to_string(content_size_) + " bytes");
    }
    std::string actual = sha_.FinishHex();
    if (actual != csum_) {
      DiscardOutput();
      if (actual.empty()) return err->Set(EIO, "sha256", csum_, "", "SHA-256 failed");
      return perr->Corrupt("Corrupted file object; checksum expected='" + csum_ + "' actual='" + actual + "'");
    }
    if (mode_ == RepoMode::kArchive) {
      if (!Deflate(nullptr, 0, Z_FINISH, err)) return false;
      if (fchmod(out_.fd.get(), 0644) < 0) return err->Set(errno, "fchmod", where_);
    } else if (!ApplyMeta(out_.fd.get(), false, err)) {
      return false;
    }
    bool ex = false;
    if (!store_.Commit(&out_, ObjectStore::Rel(csum_, mode_ == RepoMode::kArchive ? "filez" : "file"), &ex, err)) return false;
    if (ex) store_.Discard(&out_);
    out_active_ = false;
    (ex ? existed : written)++;
    if (!ex) bytes += content_size_;
    return true;
  }

  void DiscardOutput() {
    if (out_active_) store_.Discard(&out_);
    out_active_ = false;
  }

  // The object's metadata in this repository mode (FORMATS.md §3.3).
  bool ApplyMeta(int fd, bool link, SysError* err) {
    switch (mode_) {
      case RepoMode::kBare:
        if (fchown(fd, uid_, gid_) < 0) return err->Set(errno, "fchown", where_);
        if (!xattrs_.empty() && !WriteXattrs(where_, fd, xattrs_, err)) return false;
        if (fchmod(fd, mode_bits_ & 07777) < 0) return err->Set(errno, "fchmod", where_);
        break;
      case RepoMode::kBareUser: {
        XattrList meta{Xattr{"user.ostreemeta", BuildOstreeMeta(uid_, gid_, mode_bits_, xattrs_)}};
        if (!WriteXattrs(where_, fd, meta, err)) return false;
        if (fchmod(fd, link ? 0644 : ((mode_bits_ & 0775) | 0400)) < 0) return err->Set(errno, "fchmod", where_);
        break;
      }
      case RepoMode::kBareUserOnly:
        if (fchmod(fd, mode_bits_ & 07777) < 0) return err->Set(errno, "fchmod", where_);
        break;
      case RepoMode::kArchive:
        if (fchmod(fd, 0644) < 0) return err->Set(errno, "fchmod", where_);
        return true;
    }
    return SetMtimeZero(fd, where_, err);
  }

  bool WriteSymlink(const std::string& target, PartError* perr, SysError* err) {
    if (target.empty() || target.find('\0') != std::string::npos) {
      return perr->Corrupt("Invalid symlink target for object " + csum_);
    }
    if (!HashHeader(target, err)) return false;
    std::string actual = sha_.FinishHex();
    if (actual != csum_) {
      if (actual.empty()) return err->Set(EIO, "sha256", csum_, "", "SHA-256 failed");
      return perr->Corrupt("Corrupted file object; checksum expected='" + csum_ + "' actual='" + actual + "'");
    }
    bool have = false;
    if (!Exists(&have, err)) return false;
    if (have) {
      existed++;
      return true;
    }
    const std::string rel = ObjectStore::Rel(csum_, mode_ == RepoMode::kArchive ? "filez" : "file");
    where_ = store_.ObjPath(rel);
    bool ex = false;
    if (mode_ == RepoMode::kArchive || mode_ == RepoMode::kBareUser) {
      std::string data;
      if (mode_ == RepoMode::kArchive) {
        std::string zh = BuildZlibHeader(0, uid_, gid_, mode_bits_, target, xattrs_);
        uint32_t hl = uint32_t(zh.size());
        const char prefix[8] = {char(hl >> 24), char(hl >> 16), char(hl >> 8), char(hl), 0, 0, 0, 0};
        data.assign(prefix, 8);
        data += zh;
      } else {
        data = target;
        data.push_back('\0');
      }
      if (!store_.CreateTmp(&out_, err)) return false;
      out_active_ = true;
      if (!WriteAll(out_.fd.get(), data.data(), data.size(), where_, err) || !ApplyMeta(out_.fd.get(), true, err) ||
          !store_.Commit(&out_, rel, &ex, err)) {
        return false;
      }
      if (ex) store_.Discard(&out_);
      out_active_ = false;
    } else {
      bool bare = mode_ == RepoMode::kBare;
      if (!store_.CommitSymlink(target, rel, bare ? int64_t(uid_) : -1, bare ? int64_t(gid_) : -1,
                                bare ? &xattrs_ : nullptr, &ex, err)) {
        return false;
      }
    }
    (ex ? existed : written)++;
    return true;
  }

  bool WriteMetadata(uint8_t type, const uint8_t* data, size_t n, PartError* perr, SysError* err) {
    if (!sha_.Reset() || !sha_.Update(data, n)) return err->Set(EIO, "sha256", csum_, "", "SHA-256 failed");
    std::string actual = sha_.FinishHex();
    if (actual != csum_) {
      if (actual.empty()) return err->Set(EIO, "sha256", csum_, "", "SHA-256 failed");
      return perr->Corrupt(std::string("Corrupted ") + TypeName(type) + " object; checksum expected='" + csum_ +
                           "' actual='" + actual + "'");
    }
    // ostree validates the structure of metadata before storing it (as for every untrusted write).
    {
      std::string bytes(reinterpret_cast<const char*>(data), n);
      DirTreeEntries tree;
      bool valid = type == 2 ? ParseDirTree(bytes, &tree) : type == 3 ? ValidDirMeta(bytes) : ValidCommit(bytes);
      if (!valid) return perr->Corrupt(std::string("Invalid ") + TypeName(type) + " object " + csum_);
    }
    const char* ext = type == 2 ? "dirtree" : type == 3 ? "dirmeta" : "commit";
    const std::string rel = ObjectStore::Rel(csum_, ext);
    bool have = false;
    if (!store_.Exists(rel, &have, err)) return false;
    if (have) {
      existed++;
      return true;
    }
    where_ = store_.ObjPath(rel);
    if (!store_.CreateTmp(&out_, err)) return false;
    out_active_ = true;
    bool ex = false;
    if (!WriteAll(out_.fd.get(), reinterpret_cast<const char*>(data), n, where_, err)) return false;
    if (fchmod(out_.fd.get(), 0644) < 0) return err->Set(errno, "fchmod", where_);
    if (!store_.Commit(&out_, rel, &ex, err)) return false;
    if (ex) store_.Discard(&out_);
    out_active_ = false;
    (ex ? existed : written)++;
    return true;
  }

  std::vector<ObjectDir>* stores_;
  RepoMode mode_;
  ObjectStore store_;
  ObjectReader reader_;
  int zlib_level_;
  bool stats_only_;

  Span modes_;
  const std::vector<Span>* xattr_table_ = nullptr;
  Span payload_;
  const std::string* objects_ = nullptr;
  size_t n_objects_ = 0;
  const uint8_t* op_ = nullptr;
  size_t oplen_ = 0;

  // The current object.
  size_t index_ = 0;
  bool open_ = false;
  bool have_obj_ = false;
  std::string csum_;
  uint32_t uid_ = 0, gid_ = 0, mode_bits_ = 0;
  XattrList xattrs_;
  uint64_t content_size_ = 0;
  uint64_t out_written_ = 0;
  ObjectStore::Tmp out_;
  bool out_active_ = false;
  std::string where_;
  Sha256 sha_;
  z_stream zs_;
  bool z_ready_ = false;
  std::vector<char> zbuf_;

  // The read source.
  bool src_set_ = false;
  bool src_in_mem_ = false;
  std::string src_csum_;
  ContentObject src_;
  PageString src_mem_;
  std::vector<uint8_t> scratch_ = std::vector<uint8_t>(kChunk);
};

struct PartStats {
  uint64_t nmodes = 0, nxattrs = 0, blobsize = 0, opsize = 0;
};

class DeltaPartWorker : public PromiseWorker {
 public:
  DeltaPartWorker(Napi::Env env, std::vector<ObjectDir> stores, std::string part_path,
                  Napi::Buffer<uint8_t>* part_buf, std::string objects, std::string checksum,
                  uint64_t max_body, bool stats_only, bool fsync, int zlib_level)
      : PromiseWorker(env, "ostree:delta_part_execute"),
        stores_(std::move(stores)),
        part_path_(std::move(part_path)),
        objects_(std::move(objects)),
        checksum_(std::move(checksum)),
        max_body_(max_body),
        stats_only_(stats_only),
        fsync_(fsync),
        zlib_level_(zlib_level) {
    if (part_buf) {
      data_ = part_buf->Data();
      len_ = part_buf->Length();
      ref_ = Napi::Persistent(static_cast<Napi::Object>(*part_buf));
    }
  }

  ~DeltaPartWorker() override { Unmap(); }

  void Execute() override {
    try {
      Run();
    } catch (const std::bad_alloc&) {
      error_.Set(ENOMEM, "malloc", part_path_.empty() ? "delta part" : part_path_);
    }
    Unmap();
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("ok", Napi::Boolean::New(env, !perr_.failed()));
    if (perr_.failed()) {
      o.Set("kind", Napi::String::New(env, perr_.kind));
      o.Set("message", Napi::String::New(env, perr_.message));
      return o;
    }
    o.Set("written", Napi::Number::New(env, double(written_)));
    o.Set("existed", Napi::Number::New(env, double(existed_)));
    o.Set("bytes", Napi::Number::New(env, double(bytes_)));
    o.Set("nmodes", Napi::Number::New(env, double(stats_.nmodes)));
    o.Set("nxattrs", Napi::Number::New(env, double(stats_.nxattrs)));
    o.Set("blobsize", Napi::Number::New(env, double(stats_.blobsize)));
    o.Set("opsize", Napi::Number::New(env, double(stats_.opsize)));
    Napi::Array ops = Napi::Array::New(env, 7);
    for (uint32_t i = 0; i < 7; i++) ops.Set(i, Napi::Number::New(env, ops_[i]));
    o.Set("ops", ops);
    return o;
  }

 private:
  void Unmap() {
    if (map_) munmap(map_, map_len_);
    map_ = nullptr;
  }

  void Run() {
    if (!data_ && part_path_.empty()) {
      perr_.Set("open", "Reading initial compression flag byte: Unexpected end of part");
      return;
    }
    Fd fd;
    uint64_t file_len = 0;
    if (!data_) {
      // The part file, refused when larger than any valid part can be.
      fd.Reset(open(part_path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
      if (!fd.ok()) {
        error_.Set(errno, "open", part_path_);
        return;
      }
      struct stat st;
      if (fstat(fd.get(), &st) < 0) {
        error_.Set(errno, "fstat", part_path_);
        return;
      }
      file_len = uint64_t(st.st_size);
      uint64_t max_file = max_body_ + max_body_ / 64 + 65536;
      if (file_len > max_file) {
        perr_.Set("open", "Delta part " + part_path_ + " is larger than allowed (" + std::to_string(file_len) + " bytes)");
        return;
      }
    }
    // The part file's checksum covers the compression byte and the compressed data.
    if (!checksum_.empty()) {
      Sha256 sha;
      if (!sha.Reset()) {
        error_.Set(EIO, "sha256", part_path_, "", "SHA-256 failed");
        return;
      }
      if (data_) {
        if (!sha.Update(data_, len_)) {
          error_.Set(EIO, "sha256", part_path_, "", "SHA-256 failed");
          return;
        }
      } else {
        std::vector<uint8_t> buf(1u << 20);
        uint64_t pos = 0;
        while (pos < file_len) {
          ssize_t n = pread(fd.get(), buf.data(), size_t(std::min<uint64_t>(buf.size(), file_len - pos)), off_t(pos));
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) {
            error_.Set(errno, "read", part_path_);
            return;
          }
          if (n == 0) break;  // shrank meanwhile: the checksum will not match
          if (!sha.Update(buf.data(), size_t(n))) {
            error_.Set(EIO, "sha256", part_path_, "", "SHA-256 failed");
            return;
          }
          pos += uint64_t(n);
        }
      }
      std::string actual = sha.FinishHex();
      if (actual != checksum_) {
        perr_.Set("checksum", "Checksum mismatch in static delta part; expected=" + checksum_ + " actual=" + actual);
        return;
      }
    }
    PageString decoded;
    bool streamed = false;
    if (!data_ && file_len > 0) {
      uint8_t comp = 0;
      ssize_t n;
      do {
        n = pread(fd.get(), &comp, 1, 0);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        error_.Set(errno, "read", part_path_);
        return;
      }
      if (n == 1 && comp == 'x') {
        // Streamed from the file: the compressed bytes are never held whole.
        std::string msg;
        if (!XzDecodeFd(fd.get(), 1, file_len - 1, max_body_, &decoded, &msg)) {
          perr_.Set("open", "Decompressing delta part: " + msg);
          return;
        }
        streamed = true;
      } else {
        // Uncompressed (or invalid, reported below): mapped, not read.
        void* m = mmap(nullptr, size_t(file_len), PROT_READ, MAP_PRIVATE, fd.get(), 0);
        if (m == MAP_FAILED) {
          error_.Set(errno, "mmap", part_path_);
          return;
        }
        map_ = m;
        map_len_ = size_t(file_len);
        data_ = static_cast<const uint8_t*>(map_);
        len_ = map_len_;
      }
    }
    Span body;
    if (streamed) {
      body = {reinterpret_cast<const uint8_t*>(decoded.data()), decoded.size()};
    } else if (len_ < 1) {
      perr_.Set("open", "Reading initial compression flag byte: Unexpected end of part");
      return;
    } else switch (data_[0]) {
      case 0:
        if (len_ - 1 > max_body_) {
          perr_.Set("open", "Delta part body is larger than allowed");
          return;
        }
        body = {data_ + 1, len_ - 1};
        break;
      case 'x': {
        std::string msg;
        if (!XzDecode(data_ + 1, len_ - 1, max_body_, &decoded, &msg)) {
          perr_.Set("open", "Decompressing delta part: " + msg);
          return;
        }
        Unmap();  // the compressed bytes are no longer needed
        body = {reinterpret_cast<const uint8_t*>(decoded.data()), decoded.size()};
        break;
      }
      default:
        perr_.Set("open", "Invalid compression type '" + std::to_string(data_[0]) + "'");
        return;
    }
    Span modes, payload, ops;
    std::vector<Span> xattrs;
    if (!ParseBody(body, &modes, &xattrs, &payload, &ops)) {
      perr_.Set("open", "Invalid delta part body");
      return;
    }
    stats_.nmodes = modes.n / 12;
    stats_.nxattrs = xattrs.size();
    stats_.blobsize = payload.n;
    stats_.opsize = ops.n;
    if (!stats_only_) {
      for (ObjectDir& s : stores_) {
        if (!s.Open(&error_)) return;
      }
    }
    PartExecutor ex(&stores_, fsync_, zlib_level_, stats_only_);
    bool ok = ex.Run(modes, xattrs, payload, ops, objects_, &perr_, &error_);
    written_ = ex.written;
    existed_ = ex.existed;
    bytes_ = ex.bytes;
    memcpy(ops_, ex.ops, sizeof ops_);
    if (!ok && !perr_.failed() && !error_.failed()) perr_.Corrupt("Delta part failed");
    if (perr_.failed()) error_ = SysError();  // the data's fault takes precedence
  }

  std::vector<ObjectDir> stores_;
  std::string part_path_;
  void* map_ = nullptr;
  size_t map_len_ = 0;
  const uint8_t* data_ = nullptr;
  size_t len_ = 0;
  Napi::ObjectReference ref_;
  std::string objects_;
  std::string checksum_;
  uint64_t max_body_;
  bool stats_only_;
  bool fsync_;
  int zlib_level_;
  PartError perr_;
  PartStats stats_;
  uint64_t written_ = 0, existed_ = 0, bytes_ = 0;
  uint32_t ops_[7] = {0, 0, 0, 0, 0, 0, 0};
};

}  // namespace

Napi::Value DeltaPartExecute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || !info[1].IsArray()) {
    ThrowType(env, "repos and modes must be arrays");
    return env.Undefined();
  }
  Napi::Array repos = info[0].As<Napi::Array>(), modes = info[1].As<Napi::Array>();
  if (repos.Length() == 0 || repos.Length() != modes.Length() || repos.Length() > 64) {
    ThrowType(env, "repos and modes must be non-empty arrays of the same length");
    return env.Undefined();
  }
  std::vector<ObjectDir> stores(repos.Length());
  for (uint32_t i = 0; i < repos.Length(); i++) {
    std::string m;
    if (!args::Path(env, repos.Get(i), "repos[]", &stores[i].path) || !args::String(env, modes.Get(i), "modes[]", &m)) {
      return env.Undefined();
    }
    if (!ParseRepoMode(m, &stores[i].mode)) {
      ThrowType(env, "Invalid repository mode '" + m + "'");
      return env.Undefined();
    }
  }
  std::string part_path;
  Napi::Buffer<uint8_t> part_buf;
  bool have_buf = info[2].IsBuffer();
  if (have_buf) {
    part_buf = info[2].As<Napi::Buffer<uint8_t>>();
  } else if (!args::Path(env, info[2], "part", &part_path)) {
    return env.Undefined();
  }
  std::string objects;
  if (!args::Bytes(env, info[3], "objects", &objects)) return env.Undefined();
  if (objects.size() % kRecord != 0) {
    ThrowType(env, "objects must be a list of 33-byte records");
    return env.Undefined();
  }
  Napi::Value opts, v;
  std::string checksum;
  bool stats_only = false, fsync = false;
  int64_t level = -1;
  if (!args::Options(env, info[4], "opts", &opts)) return env.Undefined();
  if (!args::Prop(env, opts, "checksum", &v)) return env.Undefined();
  if (!v.IsUndefined() && !v.IsNull()) {
    if (!args::String(env, v, "opts.checksum", &checksum)) return env.Undefined();
    if (!args::IsHex64(checksum)) {
      ThrowType(env, "opts.checksum must be 64 lowercase hex characters");
      return env.Undefined();
    }
  }
  if (!args::Prop(env, opts, "maxBodySize", &v)) return env.Undefined();
  if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() < 0) {
    ThrowType(env, "opts.maxBodySize must be a non-negative number");
    return env.Undefined();
  }
  double mb = v.As<Napi::Number>().DoubleValue();
  uint64_t max_body = mb >= 9007199254740992.0 ? (uint64_t(1) << 53) : uint64_t(mb);
  if (!args::Prop(env, opts, "statsOnly", &v) || !args::Bool(env, v, "opts.statsOnly", false, &stats_only) ||
      !args::Prop(env, opts, "fsync", &v) || !args::Bool(env, v, "opts.fsync", false, &fsync) ||
      !args::Prop(env, opts, "zlibLevel", &v) || !args::Uint32(env, v, "opts.zlibLevel", true, &level)) {
    return env.Undefined();
  }
  if (level > 9) {
    ThrowType(env, "opts.zlibLevel must be 0-9");
    return env.Undefined();
  }
  return PromiseWorker::Start(new DeltaPartWorker(env, std::move(stores), std::move(part_path),
                                                  have_buf ? &part_buf : nullptr, std::move(objects),
                                                  std::move(checksum), max_body, stats_only, fsync,
                                                  level < 0 ? 6 : int(level)));
}

}  // namespace ostree
