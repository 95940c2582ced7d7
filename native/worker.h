// worker.h: PromiseWorker, the base of every async native call.
//
// Contract: the constructor (main thread) copies every JS argument into owned
// C++ members; Execute() (pool thread) does syscalls only and records a
// failure in `error_`; Resolve() (main thread) builds the JS result. The
// promise is settled in exactly one place (Settle) and the worker is freed
// right after, whatever happened.
#pragma once

#include <napi.h>

#include "errors.h"

namespace ostree {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  // Queues the worker (which then owns itself) and returns its promise.
  static Napi::Value Start(PromiseWorker* worker) {
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  PromiseWorker(Napi::Env env, const char* resource_name)
      : Napi::AsyncWorker(env, resource_name),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  // Builds the resolution value; may leave a JS exception pending, which
  // then rejects the promise instead.
  virtual Napi::Value Resolve(Napi::Env env) { return env.Undefined(); }

  SysError error_;

 private:
  void OnWorkComplete(Napi::Env env, napi_status status) final {
    // napi_cancelled, or a completion delivered while a worker thread's
    // environment is shutting down: nobody can observe the promise, and any
    // JS-touching call would fail, so skip straight to freeing.
    if (status != napi_cancelled && CanRunJs(env)) {
      Napi::HandleScope scope(env);
      Settle(env);
    }
    Destroy();
  }

  // A harmless property read: it fails only when the env can't run JS.
  static bool CanRunJs(napi_env env) {
    napi_value global, value;
    return napi_get_global(env, &global) == napi_ok &&
           napi_get_named_property(env, global, "undefined", &value) == napi_ok;
  }

  void Settle(Napi::Env env) {
    if (error_.failed()) {
      deferred_.Reject(MakeFsError(env, error_));
      return;
    }
    Napi::Value result = Resolve(env);
    if (env.IsExceptionPending()) {
      deferred_.Reject(env.GetAndClearPendingException().Value());
      return;
    }
    deferred_.Resolve(result);
  }

  // Unused (we never call SetError), but AsyncWorker requires them.
  void OnOK() final {}
  void OnError(const Napi::Error&) final {}

  Napi::Promise::Deferred deferred_;
};

}  // namespace ostree
