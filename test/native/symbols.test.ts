// The addon is self-contained: it takes nothing from the host process but
// N-API and the C/C++ runtime (Electron exports neither OpenSSL nor zlib nor
// libuv under their usual names), and it exports only the N-API entry points.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/binding';

const ROOT = path.join(__dirname, '..', '..');
// The file lib/binding.ts loads: NODE_OSTREE_ADDON (e.g. the cmake-js build) or node-gyp-build's choice.
const ADDON = process.env.NODE_OSTREE_ADDON
  ? path.resolve(process.env.NODE_OSTREE_ADDON)
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  : (require('node-gyp-build') as { resolve(dir: string): string }).resolve(ROOT);
const HAVE_NM = spawnSync('nm', ['--version']).status === 0;

function nm(...args: string[]): Array<{ kind: string; name: string }> {
  const r = spawnSync('nm', ['-D', ...args, ADDON], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean).map((line) => {
    const m = /^\s*(?:[0-9a-f]+\s+)?(\S)\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`nm: unexpected line ${line}`);
    return { kind: m[1], name: m[2] };
  });
}

// Versioned symbols of the C and C++ runtimes, and the weak hooks every
// shared object carries (transactional memory, gprof, atexit for C++ statics).
const RUNTIME_VERSION = /@(GLIBC|GLIBCXX|CXXABI|GCC)_[0-9.]+$/;
const WEAK_HOOKS = new Set(['_ITM_deregisterTMCloneTable', '_ITM_registerTMCloneTable', '__gmon_start__', '__cxa_finalize']);

it('lib/binding.ts loads the file checked here', () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  expect(native()).toBe(require(ADDON));
});

describe.skipIf(!HAVE_NM)('addon symbols (nm from binutils)', () => {
  it('undefined symbols are only napi_*/node_api_* and the C/C++ runtime', () => {
    const undef = nm('--undefined-only');
    expect(undef.length).toBeGreaterThan(10);
    const foreign = undef.filter(({ kind, name }) =>
      !/^(napi_|node_api_)/.test(name) &&
      !RUNTIME_VERSION.test(name) &&
      !(kind === 'w' && WEAK_HOOKS.has(name.replace(/@.*$/, ''))));
    expect(foreign.map((s) => s.name)).toEqual([]);
    // The ones issue 12 named are really gone (not merely renamed).
    const names = undef.map((s) => s.name);
    for (const gone of ['EVP_DigestInit_ex', 'deflate', 'inflate', 'uv_err_name', 'uv_strerror', 'lzma_code']) {
      expect(names).not.toContain(gone);
    }
  });

  it('exports only the N-API entry points (static zlib and liblzma stay hidden)', () => {
    const defined = nm('--defined-only').map((s) => s.name).sort();
    expect(defined).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
  });

  it('needs no shared library beyond libc, libm, libstdc++ and libgcc_s', () => {
    const r = spawnSync('readelf', ['-d', ADDON], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const needed = [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    for (const lib of needed) expect(lib).toMatch(/^(libc|libm|libstdc\+\+|libgcc_s|ld-linux[-\w]*)\.so/);
  });
});

it('native code includes zlib only through zlib_static.h (the header of the libz.a linked, not Node\'s)', () => {
  const dir = path.join(ROOT, 'native');
  const offenders = fs.readdirSync(dir)
    .filter((f) => /\.(cc|h)$/.test(f) && f !== 'zlib_static.h')
    .filter((f) => /^\s*#\s*include\s*[<"]zlib\.h[>"]/m.test(fs.readFileSync(path.join(dir, f), 'utf8')));
  expect(offenders).toEqual([]);
});
