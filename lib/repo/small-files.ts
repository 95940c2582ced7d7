// Reading a repository's small files (its config, ref files, commit objects): asynchronously
// through libuv's thread pool by default; in a short-lived process that asked
// for it (the CLI, with nothing else on its event loop), with direct
// syscalls. For a file of a few bytes the pool costs far more than the
// read: starting its threads and a round trip per open/fstat/read/close
// (~3 ms of CPU for `rev-parse`, whose whole budget is ~4 ms), and loading
// fs/promises costs ~2.5 ms more. Either way the callers get a promise and
// the same errno errors.
import * as fs from 'node:fs';

let blocking = false;

/**
 * Read small files with blocking syscalls from now on (the CLI calls this:
 * a library inside an application keeps the default, non-blocking reads).
 */
export function setSmallFilesBlocking(on: boolean): void {
  blocking = on;
}

function run<T>(sync: () => T, async: (cb: (err: NodeJS.ErrnoException | null, v?: T) => void) => void): Promise<T> {
  if (blocking) {
    try {
      return Promise.resolve(sync());
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return new Promise((resolve, reject) => async((err, v) => (err ? reject(err) : resolve(v as T))));
}

/** The whole file as UTF-8 text. */
export function readSmallFile(file: string): Promise<string> {
  return run(
    () => fs.readFileSync(file, 'utf8'),
    (cb) => fs.readFile(file, 'utf8', cb),
  );
}

/** The whole file's bytes. */
export function readSmallFileBytes(file: string): Promise<Buffer> {
  return run(
    () => fs.readFileSync(file),
    (cb) => fs.readFile(file, cb),
  );
}

/** Resolves when `p` exists (access(F_OK)), else rejects with its errno error. */
export function exists(p: string): Promise<void> {
  return run(
    () => fs.accessSync(p),
    (cb) => fs.access(p, cb),
  );
}

/** mkdir (not recursive): rejects with EEXIST when something is there. */
export function makeDir(p: string, mode: number): Promise<void> {
  return run(
    () => void fs.mkdirSync(p, { mode }),
    (cb) => fs.mkdir(p, { mode }, (err) => cb(err)),
  );
}
