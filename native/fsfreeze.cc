// The freeze/thaw cycle of /boot (see fsfreeze.h). The watchdog is a forked
// child of this (multi-threaded) process, so between fork() and _exit() it
// makes async-signal-safe system calls only: no allocation, no stdio.
#include "fsfreeze.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "fsutil.h"
#include "worker.h"

namespace ostree {

namespace {

// A short message to stderr, then exit (the child's err()).
[[noreturn]] void ChildDie(const char* what) {
  static const char prefix[] = "ostree fsfreeze watchdog: ";
  ssize_t ignored = write(2, prefix, sizeof(prefix) - 1);
  ignored = write(2, what, strlen(what));
  ignored = write(2, "\n", 1);
  (void)ignored;
  _exit(1);
}

ssize_t ReadRetry(int fd, char* c) {
  ssize_t r;
  do r = read(fd, c, 1);
  while (r < 0 && errno == EINTR);
  return r;
}

// The watchdog: tell the parent it is ready, wait for "freezing", then for
// "done" (30 s, 1 s when testing); thaw unless "done" came. Never returns.
// FORMATS.md §9.6: a guard must thaw when the parent disappears too.
[[noreturn]] void Watchdog(int sock, int fs_fd, bool testing) {
  if (!testing) {
    // daemon(0, 0) by hand: leave the session, stdio on /dev/null, so that a
    // Ctrl-C or service restart does not take the watchdog down.
    pid_t p = fork();
    if (p < 0) ChildDie("fork");
    if (p > 0) _exit(0);
    setsid();
    if (chdir("/") < 0) ChildDie("chdir");
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  if (sigaction(SIGINT, &ign, nullptr) < 0 || sigaction(SIGTERM, &ign, nullptr) < 0) ChildDie("signal");
  char c = '!';
  if (write(sock, &c, 1) != 1) ChildDie("write");
  ssize_t n = ReadRetry(sock, &c);
  if (n < 0) ChildDie("read");
  if (n != 1) ChildDie("failed to read from parent");
  struct pollfd pfd;
  pfd.fd = sock;
  pfd.events = POLLIN | POLLHUP;
  int r;
  do r = poll(&pfd, 1, testing ? 1000 : 30000);
  while (r < 0 && errno == EINTR);
  // Thaw unless the "done" byte arrived: on a timeout, a poll error, and also
  // (unlike ostree 2022.7) when the parent hung up first, i.e. died frozen.
  bool done = r > 0 && ReadRetry(sock, &c) == 1;
  if (!done) {
    // Not frozen (EINVAL), no privilege (EPERM), unsupported: all ignored.
    ioctl(fs_fd, FITHAW, 0);
    if (r < 0) ChildDie("poll");
  }
  if (testing) {
    static const char msg[] = "fifreeze watchdog was run\n";
    ssize_t ignored = write(2, msg, sizeof(msg) - 1);
    (void)ignored;
  }
  _exit(0);
}

class FreezeThawWorker : public PromiseWorker {
 public:
  FreezeThawWorker(Napi::Env env, std::string path, bool testing)
      : PromiseWorker(env, "ostree:fs_freeze_thaw"), path_(std::move(path)), testing_(testing) {}

  void Execute() override {
    Fd fs(open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY));
    if (!fs.ok()) return (void)error_.Set(errno, "open", path_);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return (void)error_.Set(errno, "socketpair", path_);
    Fd parent(sv[0]);
    Fd child_end(sv[1]);
    pid_t pid = fork();
    if (pid < 0) return (void)error_.Set(errno, "fork", path_);
    if (pid == 0) {
      close(sv[0]);
      Watchdog(sv[1], fs.get(), testing_);
    }
    child_end.Reset();
    // Non-testing: the child exits at once (the watchdog is its daemonized
    // child); reap it so that no zombie is left.
    int wstatus = 0;
    if (!testing_) {
      pid_t w;
      do w = waitpid(pid, &wstatus, 0);
      while (w < 0 && errno == EINTR);
    }
    char c = '!';
    ssize_t n = ReadRetry(parent.get(), &c);
    if (n < 0) return (void)error_.Set(errno, "read(watchdog init)", path_);
    if (n != 1) return (void)error_.Set(EPROTO, "read(watchdog init)", path_);
    if (write(parent.get(), &c, 1) != 1) return (void)error_.Set(errno, "write(watchdog start)", path_);
    if (testing_) {
      pid_t w;
      do w = waitpid(pid, &wstatus, 0);
      while (w < 0 && errno == EINTR);
      if (w < 0) return (void)error_.Set(errno, "waitpid(test-fifreeze)", path_);
      status_ = wstatus;
      return;
    }
    int r;
    do r = ioctl(fs.get(), FIFREEZE, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      int e = errno;
      if (e != EOPNOTSUPP && e != ENOSYS && e != EPERM && e != EBUSY) return (void)error_.Set(e, "ioctl(FIFREEZE)", path_);
      // Cannot freeze (or already frozen): syncfs instead.
      if (syncfs(fs.get()) < 0) return (void)error_.Set(errno, "syncfs", path_);
    } else {
      do r = ioctl(fs.get(), FITHAW, 0);
      while (r < 0 && errno == EINTR);
      if (r < 0 && errno != EINVAL) return (void)error_.Set(errno, "ioctl(FITHAW)", path_);
    }
    if (write(parent.get(), &c, 1) != 1) return (void)error_.Set(errno, "write(watchdog complete)", path_);
  }

  Napi::Value Resolve(Napi::Env env) override { return Napi::Number::New(env, status_); }

 private:
  std::string path_;
  bool testing_;
  int status_ = -1;
};

}  // namespace

Napi::Value FsFreezeThaw(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!args::Path(env, info[0], "path", &path)) return env.Undefined();
  bool testing = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  return PromiseWorker::Start(new FreezeThawWorker(env, std::move(path), testing));
}

}  // namespace ostree
