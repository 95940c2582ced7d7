// gvariant.cc: see gvariant.h. Written from FORMATS.md §1.3/§1.4.
#include "gvariant.h"

namespace ostree {

size_t ReadWidth(size_t total) {
  if (total == 0) return 0;
  if (total <= 0xffu) return 1;
  if (total <= 0xffffu) return 2;
  if (total <= 0xffffffffu) return 4;
  return 8;
}

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

bool ParseXattrs(const std::string& arr, XattrList* xattrs) { return ParseXattrArray(arr, xattrs); }

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

namespace {

uint64_t LEAt(const char* p, size_t w) {
  uint64_t v = 0;
  for (size_t i = 0; i < w; i++) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

// Well-formed UTF-8 (GVariant strings in normal form are): no overlong forms,
// no surrogates, nothing above U+10FFFF.
bool ValidUtf8(const std::string& s) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    unsigned cp, min;
    if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07, min = 0x10000;
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

// The elements [start, end) of a variable-element array in `d`, as (begin,
// end) pairs; false when the framing is not normal.
bool ArrayElements(const std::string& d, size_t start, size_t end,
                   std::vector<std::pair<size_t, size_t>>* out) {
  out->clear();
  size_t len = end - start;
  if (len == 0) return true;
  size_t w = ReadWidth(len);
  uint64_t table = LEAt(d.data() + end - w, w);
  if (table > len - w || (len - table) % w != 0) return false;
  size_t n = (len - table) / w;
  size_t prev = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t e = LEAt(d.data() + start + table + i * w, w);
    if (e < prev || e > table) return false;
    out->emplace_back(start + prev, start + e);
    prev = e;
  }
  return prev == table;
}

// A GVariant string at [b, e): NUL-terminated, no NUL inside; a valid
// dirtree entry name (FORMATS.md §11).
bool Name(const std::string& d, size_t b, size_t e, std::string* out) {
  if (e <= b || d[e - 1] != '\0') return false;
  out->assign(d, b, e - 1 - b);
  if (out->empty() || *out == "." || *out == ".." || out->find('/') != std::string::npos ||
      out->find('\0') != std::string::npos || !ValidUtf8(*out)) {
    return false;
  }
  return true;
}

}  // namespace

bool ParseDirTree(const std::string& d, DirTreeEntries* t) {
  const size_t total = d.size();
  if (total == 0) return false;
  size_t w = ReadWidth(total);
  if (total < w) return false;
  uint64_t mid = LEAt(d.data() + total - w, w);
  if (mid > total - w) return false;
  std::vector<std::pair<size_t, size_t>> el;
  if (!ArrayElements(d, 0, mid, &el)) return false;
  t->files.resize(el.size());
  for (size_t i = 0; i < el.size(); i++) {
    auto [b, e] = el[i];
    size_t len = e - b, ew = ReadWidth(len);
    if (len < ew + 32 + 2) return false;
    uint64_t s_end = LEAt(d.data() + e - ew, ew);
    if (s_end + 32 + ew != len) return false;
    if (!Name(d, b, b + s_end, &t->files[i].name)) return false;
    t->files[i].csum.assign(d, b + s_end, 32);
    if (i > 0 && t->files[i - 1].name.compare(t->files[i].name) >= 0) return false;
  }
  if (!ArrayElements(d, mid, total - w, &el)) return false;
  t->dirs.resize(el.size());
  for (size_t i = 0; i < el.size(); i++) {
    auto [b, e] = el[i];
    size_t len = e - b, ew = ReadWidth(len);
    if (len < 2 * ew + 64 + 2) return false;
    uint64_t s_end = LEAt(d.data() + e - ew, ew);
    uint64_t t_end = LEAt(d.data() + e - 2 * ew, ew);
    if (s_end + 32 != t_end || t_end + 32 + 2 * ew != len) return false;
    DirTreeEntries::Dir& dir = t->dirs[i];
    if (!Name(d, b, b + s_end, &dir.name)) return false;
    dir.tree.assign(d, b + s_end, 32);
    dir.meta.assign(d, b + t_end, 32);
    if (i > 0 && t->dirs[i - 1].name.compare(dir.name) >= 0) return false;
  }
  // No name both a file and a directory (both lists are sorted).
  size_t fi = 0;
  for (const DirTreeEntries::Dir& dir : t->dirs) {
    while (fi < t->files.size() && t->files[fi].name.compare(dir.name) < 0) fi++;
    if (fi < t->files.size() && t->files[fi].name == dir.name) return false;
  }
  return true;
}


bool ValidDirMeta(const std::string& data) {
  uint32_t uid, gid, mode;
  XattrList xattrs;
  if (!ParseOstreeMeta(data, &uid, &gid, &mode, &xattrs)) return false;
  return (mode & 0170000) == 0040000 && (mode & ~uint32_t(0177777)) == 0;
}

bool ValidCommit(const std::string& d) {
  // Members: a{sv} ay a(say) s s t ay ay; the end offsets of the variable
  // ones that are not last (0, 1, 2, 3, 4, 6) are stored at the end, the
  // first member's last.
  const size_t total = d.size();
  if (total == 0) return false;
  const size_t w = ReadWidth(total);
  if (total < 6 * w) return false;
  const size_t body = total - 6 * w;
  uint64_t end[6];
  uint64_t prev = 0;
  for (int k = 0; k < 6; k++) {
    end[k] = LEAt(d.data() + total - (k + 1) * w, w);
    if (end[k] < prev || end[k] > body) return false;
    prev = end[k];
  }
  // end[4] closes the body string; the timestamp is 8-aligned after it.
  const uint64_t ts = (end[4] + 7) & ~uint64_t(7);
  if (ts + 8 > end[5]) return false;
  for (uint64_t i = end[4]; i < ts; i++) {
    if (d[i] != '\0') return false;  // normal form: zero padding
  }
  const uint64_t parent = end[1] - end[0];
  if (parent != 0 && parent != 32) return false;
  if (end[5] - (ts + 8) != 32 || body - end[5] != 32) return false;
  for (int k = 3; k <= 4; k++) {
    uint64_t b = end[k - 1], e = end[k];
    if (e <= b || d[e - 1] != '\0') return false;
    std::string str(d, b, e - 1 - b);
    if (str.find('\0') != std::string::npos || !ValidUtf8(str)) return false;
  }
  // The related list: an array of (say) framed as in a dirtree.
  std::vector<std::pair<size_t, size_t>> el;
  if (!ArrayElements(d, end[1], end[2], &el)) return false;
  return true;
}

}  // namespace ostree
