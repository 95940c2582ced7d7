// gvariant.cc: see gvariant.h. Written from FORMATS.md §1.3/§1.4.
#include "gvariant.h"

namespace ostree {

namespace {

// Framing-offset width for a container whose body is `body` bytes and that
// carries `n` offsets: the smallest W whose range holds the total size.
size_t OffsetWidth(size_t body, size_t n) {
  if (n == 0) return 0;
  if (body + n <= 0xffu) return 1;
  if (body + 2 * n <= 0xffffu) return 2;
  if (body + 4 * n <= 0xffffffffu) return 4;
  return 8;
}

// Width a reader derives from a container's total size.
size_t ReadWidth(size_t total) {
  if (total == 0) return 0;
  if (total <= 0xffu) return 1;
  if (total <= 0xffffu) return 2;
  if (total <= 0xffffffffu) return 4;
  return 8;
}

void PutLE(std::string* out, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; i++) {
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

uint64_t GetLE(const std::string& in, size_t pos, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; i++) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[pos + i])) << (8 * i);
  }
  return v;
}

void PutBE32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

uint32_t GetBE32(const std::string& in, size_t pos) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(in.data() + pos);
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) |
         (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// a(ayay): each element is a tuple of two variable members (one framing
// offset: the end of the name); the array itself is variable-element.
void AppendXattrArray(std::string* out, const XattrList& xattrs) {
  if (xattrs.empty()) return;  // empty array: zero bytes
  std::string body;
  std::vector<size_t> ends;
  ends.reserve(xattrs.size());
  for (const Xattr& x : xattrs) {
    size_t name_end = x.name.size() + 1;  // name + NUL
    size_t elem_body = name_end + x.value.size();
    size_t w = OffsetWidth(elem_body, 1);
    body += x.name;
    body.push_back('\0');
    body += x.value;
    PutLE(&body, name_end, w);
    ends.push_back(body.size());
  }
  size_t w = OffsetWidth(body.size(), ends.size());
  for (size_t end : ends) PutLE(&body, end, w);
  *out += body;
}

}  // namespace

std::string BuildFileHeader(uint32_t uid, uint32_t gid, uint32_t mode,
                            const std::string& symlink_target,
                            const XattrList& xattrs) {
  std::string out;
  PutBE32(&out, uid);
  PutBE32(&out, gid);
  PutBE32(&out, mode);
  PutBE32(&out, 0);  // rdev
  out += symlink_target;
  out.push_back('\0');
  size_t string_end = out.size();  // the only non-last variable member
  AppendXattrArray(&out, xattrs);
  PutLE(&out, string_end, OffsetWidth(out.size(), 1));
  return out;
}

std::string BuildZlibHeader(uint64_t size, uint32_t uid, uint32_t gid,
                            uint32_t mode, const std::string& symlink_target,
                            const XattrList& xattrs) {
  // (tuuuusa(ayay)): the file header with a leading big-endian size; `t` is
  // 8-aligned at offset 0, so the rest keeps the file header's layout.
  std::string out;
  for (int i = 7; i >= 0; i--) out.push_back(static_cast<char>(size >> (8 * i)));
  PutBE32(&out, uid);
  PutBE32(&out, gid);
  PutBE32(&out, mode);
  PutBE32(&out, 0);  // rdev
  out += symlink_target;
  out.push_back('\0');
  size_t string_end = out.size();
  AppendXattrArray(&out, xattrs);
  PutLE(&out, string_end, OffsetWidth(out.size(), 1));
  return out;
}

std::string BuildOstreeMeta(uint32_t uid, uint32_t gid, uint32_t mode,
                            const XattrList& xattrs) {
  std::string out;
  PutBE32(&out, uid);
  PutBE32(&out, gid);
  PutBE32(&out, mode);
  AppendXattrArray(&out, xattrs);  // last member: no framing offset
  return out;
}

namespace {

// Parses the bytes of an a(ayay) array (names without their NUL), sorted.
bool ParseXattrArray(const std::string& arr, XattrList* xattrs) {
  xattrs->clear();
  const size_t len = arr.size();
  if (len == 0) return true;
  size_t w = ReadWidth(len);
  if (len < w) return false;
  uint64_t last_end = GetLE(arr, len - w, w);
  if (last_end > len || (len - last_end) % w != 0) return false;
  size_t n = (len - last_end) / w;
  if (n == 0) return false;
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t end = GetLE(arr, last_end + i * w, w);
    if (end < start || end > last_end) return false;
    size_t elen = end - start;
    size_t ew = ReadWidth(elen);
    if (elen < ew || ew == 0) return false;
    uint64_t name_end = GetLE(arr, start + elen - ew, ew);
    if (name_end < 1 || name_end > elen - ew) return false;
    if (arr[start + name_end - 1] != '\0') return false;
    Xattr x;
    x.name = arr.substr(start, name_end - 1);
    x.value = arr.substr(start + name_end, elen - ew - name_end);
    if (x.name.empty() || x.name.find('\0') != std::string::npos) return false;
    xattrs->push_back(std::move(x));
    start = end;
  }
  SortXattrs(xattrs);
  return true;
}

}  // namespace

bool ParseOstreeMeta(const std::string& data, uint32_t* uid, uint32_t* gid,
                     uint32_t* mode, XattrList* xattrs) {
  xattrs->clear();
  if (data.size() < 12) return false;
  *uid = GetBE32(data, 0);
  *gid = GetBE32(data, 4);
  *mode = GetBE32(data, 8);
  return ParseXattrArray(data.substr(12), xattrs);
}

bool ParseZlibHeader(const std::string& data, ZlibHeader* out) {
  // (tuuuusa(ayay)): 24 fixed bytes, the NUL-terminated target, the xattr
  // array, then one framing offset (the end of the string).
  const size_t total = data.size();
  size_t w = ReadWidth(total);
  if (total < 25 + w) return false;
  uint64_t size = 0;
  for (int i = 0; i < 8; i++) size = (size << 8) | static_cast<uint8_t>(data[i]);
  out->size = size;
  out->uid = GetBE32(data, 8);
  out->gid = GetBE32(data, 12);
  out->mode = GetBE32(data, 16);
  if (GetBE32(data, 20) != 0) return false;  // rdev
  uint64_t string_end = GetLE(data, total - w, w);
  if (string_end < 25 || string_end > total - w || data[string_end - 1] != '\0') return false;
  out->symlink_target = data.substr(24, string_end - 1 - 24);
  if (out->symlink_target.find('\0') != std::string::npos) return false;
  return ParseXattrArray(data.substr(string_end, total - w - string_end), &out->xattrs);
}

}  // namespace ostree
