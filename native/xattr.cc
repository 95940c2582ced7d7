// xattr.cc: see xattr.h.
#include "xattr.h"

#include <errno.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cstring>

#include "args.h"
#include "worker.h"

namespace ostree {

static bool IsNotSupported(int e) { return e == ENOTSUP || e == EOPNOTSUPP; }

void SortXattrs(XattrList* list) {
  std::stable_sort(list->begin(), list->end(),
                   [](const Xattr& a, const Xattr& b) {
                     return std::strcmp(a.name.c_str(), b.name.c_str()) < 0;
                   });
}

// Returns the size or -1 with errno.
static ssize_t List(const std::string& path, int fd, char* buf, size_t size) {
  return fd >= 0 ? flistxattr(fd, buf, size)
                 : llistxattr(path.c_str(), buf, size);
}

static ssize_t Get(const std::string& path, int fd, const char* name,
                   void* buf, size_t size) {
  return fd >= 0 ? fgetxattr(fd, name, buf, size)
                 : lgetxattr(path.c_str(), name, buf, size);
}

bool ReadXattrs(const std::string& path, int fd, bool skip_empty,
                XattrList* out, SysError* err) {
  out->clear();
  const char* list_call = fd >= 0 ? "flistxattr" : "llistxattr";
  const char* get_call = fd >= 0 ? "fgetxattr" : "lgetxattr";

  // List the names; the set may grow between the size probe and the read.
  std::string names;
  for (;;) {
    ssize_t n = List(path, fd, nullptr, 0);
    if (n < 0) {
      if (IsNotSupported(errno)) return true;
      return err->Set(errno, list_call, path);
    }
    if (n == 0) return true;
    names.resize(static_cast<size_t>(n));
    n = List(path, fd, &names[0], names.size());
    if (n < 0) {
      if (errno == ERANGE) continue;
      if (IsNotSupported(errno)) return true;
      return err->Set(errno, list_call, path);
    }
    names.resize(static_cast<size_t>(n));
    break;
  }

  std::string value;
  size_t pos = 0;
  while (pos < names.size()) {
    const char* name = names.c_str() + pos;
    size_t len = std::strlen(name);
    pos += len + 1;
    if (len == 0) continue;
    bool gone = false;
    for (;;) {
      ssize_t n = Get(path, fd, name, nullptr, 0);
      if (n < 0) {
        if (errno == ENODATA) { gone = true; break; }  // removed meanwhile
        if (IsNotSupported(errno)) { gone = true; break; }
        return err->Set(errno, get_call, path);
      }
      value.resize(static_cast<size_t>(n));
      if (n == 0) break;
      n = Get(path, fd, name, &value[0], value.size());
      if (n < 0) {
        if (errno == ERANGE) continue;
        if (errno == ENODATA) { gone = true; break; }
        return err->Set(errno, get_call, path);
      }
      value.resize(static_cast<size_t>(n));
      break;
    }
    if (gone || (skip_empty && value.empty())) continue;
    out->push_back(Xattr{std::string(name, len), value});
  }
  SortXattrs(out);
  return true;
}

bool ReadXattr(const std::string& path, int fd, const char* name,
               std::string* value, bool* found, SysError* err) {
  *found = false;
  value->clear();
  {
    // One call for the common small value; the size query only when it's larger.
    char small[512];
    ssize_t n = Get(path, fd, name, small, sizeof small);
    if (n >= 0) {
      value->assign(small, static_cast<size_t>(n));
      *found = true;
      return true;
    }
    if (errno != ERANGE) {
      if (errno == ENODATA || IsNotSupported(errno)) return true;
      return err->Set(errno, fd >= 0 ? "fgetxattr" : "lgetxattr", path);
    }
  }
  for (;;) {
    ssize_t n = Get(path, fd, name, nullptr, 0);
    if (n >= 0) {
      value->resize(static_cast<size_t>(n));
      if (n > 0) n = Get(path, fd, name, &(*value)[0], value->size());
    }
    if (n < 0) {
      if (errno == ERANGE) continue;
      if (errno == ENODATA || IsNotSupported(errno)) return true;
      return err->Set(errno, fd >= 0 ? "fgetxattr" : "lgetxattr", path);
    }
    value->resize(static_cast<size_t>(n));
    *found = true;
    return true;
  }
}

bool WriteXattrs(const std::string& path, int fd, const XattrList& list,
                 SysError* err) {
  for (const Xattr& x : list) {
    int r = fd >= 0 ? fsetxattr(fd, x.name.c_str(), x.value.data(),
                                x.value.size(), 0)
                    : lsetxattr(path.c_str(), x.name.c_str(), x.value.data(),
                                x.value.size(), 0);
    if (r < 0) {
      return err->Set(errno, fd >= 0 ? "fsetxattr" : "lsetxattr", path);
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// xattrs_get(path) -> Promise<Array<[name, Buffer]>>

namespace {

class XattrsGetWorker : public PromiseWorker {
 public:
  XattrsGetWorker(Napi::Env env, std::string path)
      : PromiseWorker(env, "ostree:xattrs_get"), path_(std::move(path)) {}

  void Execute() override {
    ReadXattrs(path_, -1, /*skip_empty=*/false, &list_, &error_);
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, list_.size());
    for (size_t i = 0; i < list_.size(); i++) {
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::String::New(env, list_[i].name));
      pair.Set(1u, Napi::Buffer<char>::Copy(env, list_[i].value.data(),
                                            list_[i].value.size()));
      arr.Set(static_cast<uint32_t>(i), pair);
    }
    return arr;
  }

 private:
  std::string path_;
  XattrList list_;
};

class XattrsSetWorker : public PromiseWorker {
 public:
  XattrsSetWorker(Napi::Env env, std::string path, XattrList list)
      : PromiseWorker(env, "ostree:xattrs_set"),
        path_(std::move(path)),
        list_(std::move(list)) {}

  void Execute() override { WriteXattrs(path_, -1, list_, &error_); }

 private:
  std::string path_;
  XattrList list_;
};

}  // namespace

Napi::Value XattrsGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!args::Path(env, info[0], "path", &path)) return env.Undefined();
  return PromiseWorker::Start(new XattrsGetWorker(env, std::move(path)));
}

Napi::Value XattrsSet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  XattrList list;
  bool present = false;
  if (!args::Path(env, info[0], "path", &path)) return env.Undefined();
  if (!args::Xattrs(env, info[1], "xattrs", &list, &present)) {
    return env.Undefined();
  }
  if (!present) {
    ThrowType(env, "The \"xattrs\" argument must be an array of [name, Buffer]");
    return env.Undefined();
  }
  return PromiseWorker::Start(
      new XattrsSetWorker(env, std::move(path), std::move(list)));
}

}  // namespace ostree
