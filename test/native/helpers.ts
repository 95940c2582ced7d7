// Shared helpers for the native addon tests.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native } from '../../lib/binding';

export const addon = native();

export function tmpDir(prefix = 'ostree-native-'): string {
  // Under the repo's build dir would be on the same fs; os.tmpdir() is fine.
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function rmrf(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * The environment for programs other than node that the tests run (ostree,
 * xz, setfattr): without the sanitizer runtimes `npm run test:asan` preloads
 * for node. Under them ostree never exits (its p11-kit destructor waits on
 * the locale lock at exit), and they are of no use to uninstrumented tools.
 */
export function hostEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.LD_PRELOAD;
  return env;
}

/** The real ostree CLI, when installed. */
export const OSTREE = ['/usr/bin/ostree', '/usr/local/bin/ostree'].find((p) => fs.existsSync(p));

/** Skip interop tests only when ostree is missing and we're not in CI. */
export const skipInterop = !OSTREE && !process.env.CI;

export function ostreeChecksum(file: string, ignoreXattrs = false): string {
  if (!OSTREE) throw new Error('ostree CLI not installed');
  const args = ['checksum', ...(ignoreXattrs ? ['--ignore-xattrs'] : []), file];
  return execFileSync(OSTREE, args, { encoding: 'utf8', env: hostEnv() }).trim();
}

/** setfattr through the addon (xattrs_set is itself under test elsewhere). */
export async function setXattrs(file: string, xattrs: Array<[string, string | Buffer]>): Promise<void> {
  await addon.xattrs_set(
    file,
    xattrs.map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(v)] as [string, Buffer]),
  );
}

/** Does the temp filesystem support user.* xattrs? */
export function xattrsSupported(): boolean {
  const d = tmpDir();
  try {
    const f = path.join(d, 'probe');
    fs.writeFileSync(f, '');
    execFileSync('setfattr', ['-n', 'user.probe', '-v', '1', f], { stdio: 'ignore', env: hostEnv() });
    return true;
  } catch {
    return false;
  } finally {
    rmrf(d);
  }
}

// --- a tiny independent GVariant encoder for (uuua(ayay)) (FORMATS.md §1) ---

function offsetWidth(body: number, n: number): number {
  if (n === 0) return 0;
  if (body + n <= 0xff) return 1;
  if (body + 2 * n <= 0xffff) return 2;
  return 4;
}

function le(v: number, w: number): Buffer {
  const b = Buffer.alloc(w);
  for (let i = 0; i < w; i++) b[i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
  return b;
}

export function encodeXattrArray(xattrs: Array<[string, Buffer]>): Buffer {
  const sorted = [...xattrs].sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
  const parts: Buffer[] = [];
  const ends: number[] = [];
  let size = 0;
  for (const [name, value] of sorted) {
    const nameBytes = Buffer.concat([Buffer.from(name), Buffer.from([0])]);
    const body = nameBytes.length + value.length;
    const elem = Buffer.concat([nameBytes, value, le(nameBytes.length, offsetWidth(body, 1))]);
    parts.push(elem);
    size += elem.length;
    ends.push(size);
  }
  if (parts.length === 0) return Buffer.alloc(0);
  const w = offsetWidth(size, ends.length);
  return Buffer.concat([...parts, ...ends.map((e) => le(e, w))]);
}

export function encodeOstreeMeta(uid: number, gid: number, mode: number, xattrs: Array<[string, Buffer]>): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt32BE(uid, 0);
  head.writeUInt32BE(gid, 4);
  head.writeUInt32BE(mode >>> 0, 8);
  return Buffer.concat([head, encodeXattrArray(xattrs)]);
}
