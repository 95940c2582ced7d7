// lock.cc: see lock.h. Mirrors the primitive in ostree-repo.c
// (push_repo_lock / do_repo_lock): F_OFD_SETLK(W), or flock when unsupported.
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <string>

#include "args.h"
#include "worker.h"

#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#endif

namespace ostree {

namespace {

// Shared by the JS handle and any in-flight job, so lock_close racing with
// lock_try can never make the job use a closed (or reused) fd number.
struct LockState {
  std::mutex mu;
  int fd = -1;
  bool use_flock = false;
  std::string path;

  ~LockState() {
    if (fd >= 0) close(fd);
  }
};
using LockRef = std::shared_ptr<LockState>;

// Distinguishes our externals from any other object passed in.
const napi_type_tag kLockTag = {0x6f737472656c6f63ull, 0x6b2d68616e646c65ull};

enum class LockOp { kShared, kExclusive, kUnlock };

bool GetHandle(Napi::Env env, Napi::Value v, LockRef* out) {
  if (!v.IsExternal() || !v.As<Napi::External<LockRef>>().CheckTypeTag(&kLockTag)) {
    return ThrowType(env, "The \"handle\" argument must be a lock handle");
  }
  *out = *v.As<Napi::External<LockRef>>().Data();
  return true;
}

// --- lock_open(path) -------------------------------------------------------

class LockOpenWorker : public PromiseWorker {
 public:
  LockOpenWorker(Napi::Env env, std::string path)
      : PromiseWorker(env, "ostree:lock_open"), path_(std::move(path)) {}

  void Execute() override {
    int fd = open(path_.c_str(), O_CREAT | O_RDWR | O_CLOEXEC | O_NOCTTY, 0660);
    if (fd < 0) {
      error_.Set(errno, "open", path_);
      return;
    }
    state_ = std::make_shared<LockState>();
    state_->fd = fd;
    state_->path = path_;
    // Probe OFD support without changing anything (GETLK only reports).
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0 && errno == EINVAL) {
      state_->use_flock = true;
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    auto* ref = new LockRef(std::move(state_));
    Napi::External<LockRef> ext = Napi::External<LockRef>::New(
        env, ref, [](Napi::Env, LockRef* r) { delete r; });
    if (env.IsExceptionPending()) return env.Undefined();
    ext.TypeTag(&kLockTag);
    return ext;
  }

 private:
  std::string path_;
  LockRef state_;
};

// --- lock_try(handle, type) -------------------------------------------------

class LockTryWorker : public PromiseWorker {
 public:
  LockTryWorker(Napi::Env env, LockRef state, LockOp op)
      : PromiseWorker(env, "ostree:lock_try"), state_(std::move(state)), op_(op) {}

  void Execute() override {
    std::lock_guard<std::mutex> guard(state_->mu);
    if (state_->fd < 0) {
      error_.Set(EBADF, "fcntl", state_->path, "", "lock handle is closed");
      return;
    }
    if (!state_->use_flock) {
      struct flock fl = {};
      fl.l_type = op_ == LockOp::kShared      ? F_RDLCK
                  : op_ == LockOp::kExclusive ? F_WRLCK
                                              : F_UNLCK;
      fl.l_whence = SEEK_SET;
      fl.l_start = 0;
      fl.l_len = 0;
      int r;
      do {
        r = fcntl(state_->fd, F_OFD_SETLK, &fl);
      } while (r < 0 && errno == EINTR);
      if (r == 0) {
        acquired_ = true;
        return;
      }
      if (errno != EINVAL) {
        Fail(errno, "fcntl");
        return;
      }
      state_->use_flock = true;  // no OFD locks here: flock from now on
    }
    int how = op_ == LockOp::kShared      ? LOCK_SH
              : op_ == LockOp::kExclusive ? LOCK_EX
                                          : LOCK_UN;
    int r;
    do {
      r = flock(state_->fd, how | LOCK_NB);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      acquired_ = true;
      return;
    }
    Fail(errno, "flock");
  }

  Napi::Value Resolve(Napi::Env env) override {
    return Napi::Boolean::New(env, acquired_);
  }

 private:
  void Fail(int e, const char* syscall) {
    if (e == EAGAIN || e == EWOULDBLOCK || e == EACCES) {
      acquired_ = false;  // held by someone else
      return;
    }
    error_.Set(e, syscall, state_->path);
  }

  LockRef state_;
  LockOp op_;
  bool acquired_ = false;
};

// --- lock_close(handle) -------------------------------------------------------

class LockCloseWorker : public PromiseWorker {
 public:
  LockCloseWorker(Napi::Env env, LockRef state)
      : PromiseWorker(env, "ostree:lock_close"), state_(std::move(state)) {}

  void Execute() override {
    std::lock_guard<std::mutex> guard(state_->mu);
    int fd = state_->fd;
    state_->fd = -1;
    if (fd >= 0 && close(fd) < 0 && errno != EINTR) {
      error_.Set(errno, "close", state_->path);
    }
  }

 private:
  LockRef state_;
};

}  // namespace

Napi::Value LockOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!args::Path(env, info[0], "path", &path)) return env.Undefined();
  return PromiseWorker::Start(new LockOpenWorker(env, std::move(path)));
}

Napi::Value LockTry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LockRef state;
  if (!GetHandle(env, info[0], &state)) return env.Undefined();
  std::string type;
  if (!args::String(env, info[1], "type", &type)) return env.Undefined();
  LockOp op;
  if (type == "shared") {
    op = LockOp::kShared;
  } else if (type == "exclusive") {
    op = LockOp::kExclusive;
  } else if (type == "unlock") {
    op = LockOp::kUnlock;
  } else {
    ThrowType(env, "The \"type\" argument must be 'shared', 'exclusive' or 'unlock'");
    return env.Undefined();
  }
  return PromiseWorker::Start(new LockTryWorker(env, std::move(state), op));
}

Napi::Value LockClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LockRef state;
  if (!GetHandle(env, info[0], &state)) return env.Undefined();
  return PromiseWorker::Start(new LockCloseWorker(env, std::move(state)));
}

Napi::Value LockKind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LockRef state;
  if (!GetHandle(env, info[0], &state)) return env.Undefined();
  bool flock_kind;
  {
    std::lock_guard<std::mutex> guard(state->mu);
    flock_kind = state->use_flock;
  }
  return Napi::String::New(env, flock_kind ? "flock" : "ofd");
}

}  // namespace ostree
