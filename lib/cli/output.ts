// Output helpers for builtins: binary-safe stdout writes that respect
// back-pressure, line batching for commands that print a lot, and ostree's
// usage-error form (help text, a blank line, then `error: MSG`).
import { promises as fsp } from 'node:fs';
import { formatHelp, CommandSpec } from './options';
import type { Ctx } from './context';

/**
 * Write bytes (or a string) to stdout; resolves once the data is handed to the OS or queued without back-pressure.
 * A reader that went away fails the write as ostree's stream writes fail ("Error writing to file descriptor:
 * Broken pipe", status 1): ostree ignores SIGPIPE.
 */
export function writeStdout(data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EPIPE' ? new Error('Error writing to file descriptor: Broken pipe') : err);
    if (process.stdout.destroyed) return fail(Object.assign(new Error('EPIPE'), { code: 'EPIPE' }));
    const onDrain = () => {
      process.stdout.off('error', fail);
      resolve();
    };
    const ok = process.stdout.write(data, (err) => {
      if (err) {
        process.stdout.off('drain', onDrain);
        fail(err);
      }
    });
    if (ok) resolve();
    else {
      process.stdout.once('drain', onDrain);
      process.stdout.once('error', fail);
    }
  });
}

/** Copy a file to stdout in chunks. */
export async function copyFileToStdout(p: string): Promise<void> {
  const fh = await fsp.open(p, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      await writeStdout(Buffer.from(buf.subarray(0, bytesRead)));
    }
  } finally {
    await fh.close();
  }
}

/** Collects output and hands it to `out` in large pieces (call flush() before returning or throwing). */
export class OutputBuffer {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly out: (s: string) => void, private readonly limit = 64 * 1024) {}
  push(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= this.limit) this.flush();
  }
  flush(): void {
    if (!this.parts.length) return;
    this.out(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

/** ot_util_usage_error(): print the command's help to stderr and return the error to throw. */
export function usageError(ctx: Ctx, spec: CommandSpec, msg: string): Error {
  ctx.err(formatHelp(spec) + '\n');
  return new Error(msg);
}
