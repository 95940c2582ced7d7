// Shared test helpers: temp dirs, the standard interop tree, and runners for
// the real `ostree` and our CLI.
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

/**
 * The environment for host tools (ostree, setfattr, sh): without LD_PRELOAD, which `npm run test:asan` sets for
 * node and our addon; ostree hangs at exit under the preloaded sanitizer runtimes.
 */
export function hostEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.LD_PRELOAD;
  return env;
}

export const HAVE_OSTREE = spawnSync('ostree', ['--version'], { env: hostEnv() }).status === 0;
/** Interop tests may skip only where ostree is missing and CI is unset. */
export const SKIP_INTEROP = !HAVE_OSTREE && !process.env.CI;
export const IS_ROOT = process.getuid?.() === 0;

const dirs: string[] = [];

export function tmpdir(prefix = 'node-ostree-test-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function cleanupTmp(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
  stdoutBuf: Buffer;
}

function wrap(r: SpawnSyncReturns<Buffer>): RunResult {
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), stdoutBuf: r.stdout };
}

export function ostree(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunResult {
  return wrap(spawnSync('ostree', args, { cwd: opts.cwd, env: hostEnv(opts.env), maxBuffer: 1 << 28 }));
}

export function ours(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunResult {
  return wrap(spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 1 << 28 }));
}

/** Run and require success; returns trimmed stdout. */
export function ok(r: RunResult, what = 'command'): string {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * The standard interop tree: regular files of several modes (0644, 0755, 0444,
 * 0600 in a 0700 dir), an empty file, a 300 kB binary, symlinks (also
 * dangling), an empty dir, and a file with a `user.` xattr.
 */
export function makeTree(dir: string, variant = 1): void {
  mkdirSync(dir, { recursive: true });
  const w = (p: string, data: string | Buffer, mode: number) => {
    writeFileSync(path.join(dir, p), data);
    chmodSync(path.join(dir, p), mode);
  };
  w('hello.txt', variant === 1 ? 'Hello, OSTree!\n' : 'Hello, OSTree! (v2)\n', 0o644);
  w('run.sh', '#!/bin/sh\necho hi\n', 0o755);
  w('readonly', 'read only\n', 0o444);
  w('empty', '', 0o644);
  // Deterministic "random" binary.
  const big = Buffer.alloc(300 * 1024);
  let x = 12345;
  for (let i = 0; i < big.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    big[i] = x >>> 24;
  }
  w('big.bin', big, 0o644);
  mkdirSync(path.join(dir, 'private'), { recursive: true });
  w('private/secret', 'secret\n', 0o600);
  chmodSync(path.join(dir, 'private'), 0o700);
  mkdirSync(path.join(dir, 'emptydir'), { recursive: true });
  symlinkSync('hello.txt', path.join(dir, 'link'));
  symlinkSync('/nonexistent/target', path.join(dir, 'dangling'));
  mkdirSync(path.join(dir, 'sub', 'deeper'), { recursive: true });
  w('sub/deeper/file', 'deep\n', 0o644);
  w('sub/xattr.txt', 'x\n', 0o644);
  const r = spawnSync('setfattr', ['-n', 'user.test', '-v', 'value', path.join(dir, 'sub/xattr.txt')], { env: hostEnv() });
  if (r.status !== 0) throw new Error(`setfattr failed (install the attr package): ${r.stderr}`);
  if (variant === 2) {
    w('sub/new.txt', 'new in v2\n', 0o644);
    w('changed-' + randomBytes(0).toString('hex') + 'extra', 'extra\n', 0o644);
  }
}

/** A listing of a checked-out tree: path, type, mode, size, symlink target, content hash. */
export function describeTree(dir: string): string {
  const r = spawnSync('sh', ['-c', `cd "${dir}" && find . -printf '%p %y %m %s %l\\n' | sort && find . -type f -print0 | sort -z | xargs -0 -r sha256sum`], { env: hostEnv() });
  return r.stdout.toString();
}
