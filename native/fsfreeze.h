// fsfreeze.{h,cc}: fs_freeze_thaw, the FIFREEZE/FITHAW cycle ostree runs on
// /boot before swapping the bootloader config (fsfreeze_thaw_cycle in
// ostree-sysroot-deploy.c), with its watchdog process that thaws the
// filesystem if this process dies while it is frozen.
#pragma once

#include <napi.h>

namespace ostree {

// fs_freeze_thaw(path, testWatchdog) -> Promise<number>
//   Freezes and thaws the filesystem of `path` (falling back to syncfs when
//   the kernel or the caller's privileges do not allow a freeze, or it is
//   already frozen); resolves -1. With testWatchdog (OSTREE_SYSROOT_DEBUG=
//   test-fifreeze) nothing is frozen: the watchdog is left to time out (1 s),
//   and the promise resolves its wait status.
Napi::Value FsFreezeThaw(const Napi::CallbackInfo& info);

}  // namespace ostree
