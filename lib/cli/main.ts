#!/usr/bin/env node
// The `node-ostree` (ostree-compatible) command's process entry point. It
// loads the driver (./driver) and the modules small commands need from the
// CLI bundle with a V8 code cache (./bundle), so that `rev-parse` starts
// about as fast as a bare `node -e 0`; everything else loads lazily.
import { loadCliModule } from './bundle';

// A reader that went away (`ostree show … | head`): end quietly as ostree
// does, killed by SIGPIPE (the shell's status 128+13), not with a stack trace.
// process.stdout is only created by the commands that use the stream (the
// driver writes to fd 1 directly): the handler is attached when it is.
const stdoutDesc = Object.getOwnPropertyDescriptor(process, 'stdout');
if (stdoutDesc?.get && stdoutDesc.configurable) {
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: stdoutDesc.enumerable,
    get() {
      const stream = stdoutDesc.get!.call(process) as NodeJS.WriteStream;
      Object.defineProperty(process, 'stdout', { configurable: true, enumerable: stdoutDesc.enumerable, writable: false, value: stream });
      stream.on('error', (e: NodeJS.ErrnoException) => {
        // Reported to the writer's callback (writeStdout), or dropped as ostree drops it.
        if (e.code === 'EPIPE') return;
        throw e;
      });
      return stream;
    },
  });
}

const { main } = loadCliModule('cli/driver.js') as typeof import('./driver');
main(process.argv.slice(2)).then(
  (rc) => {
    process.exitCode = rc;
  },
  (e) => {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
