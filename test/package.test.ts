// Packaging: `npm run build:prebuilds` produces a stripped N-API prebuild that the
// library loads with PREBUILDS_ONLY=1 (no local build), the ESM and CommonJS
// entry points both work, and the public error model holds.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, readdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT, tmpdir, cleanupTmp } from './helpers/interop';

afterAll(cleanupTmp);

describe('prebuilds', () => {
  it('npm run build:prebuilds builds prebuilds/<platform>-<arch>/*.node and the library loads it with PREBUILDS_ONLY=1', () => {
    // Work on a copy so the suite's own build/ is never rebuilt under running tests.
    const pkg = path.join(tmpdir(), 'pkg');
    mkdirSync(pkg);
    for (const f of ['package.json', 'binding.gyp', 'native', 'dist']) cpSync(path.join(ROOT, f), path.join(pkg, f), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
    const build = spawnSync('npm', ['run', 'build:prebuilds'], { cwd: pkg, encoding: 'utf8', env: { ...process.env, JOBS: '2' } });
    expect(build.status, build.stderr).toBe(0);
    const dir = path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`);
    const files = readdirSync(dir);
    expect(files.some((f) => f.endsWith('.node'))).toBe(true);
    rmSync(path.join(pkg, 'build'), { recursive: true, force: true });
    writeFileSync(path.join(pkg, 'hello.txt'), 'Hello, OSTree!\n');
    const script = `
      const lib = require(${JSON.stringify(path.join(pkg, 'dist', 'index.js'))});
      lib.native().checksum_files([${JSON.stringify(path.join(pkg, 'hello.txt'))}], { uid: 0, gid: 0 })
        .then((r) => console.log(lib.native().version(), r[0].checksum));`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, PREBUILDS_ONLY: '1' } });
    expect(run.status, run.stderr).toBe(0);
    // uid/gid forced to 0 and mode 0644: the checksum ostree gives hello.txt.
    const expectedMode = spawnSync('stat', ['-c', '%a', path.join(pkg, 'hello.txt')], { encoding: 'utf8' }).stdout.trim();
    if (expectedMode === '644') expect(run.stdout.trim()).toBe('0.1.0 d54de4d5e87b6e23a70888c184728279c0e3a0d9ed8d4bb4fe2151e05f9599e8');
    else expect(run.stdout.trim()).toMatch(/^0\.1\.0 [0-9a-f]{64}$/);
    // Without a prebuild or a build, loading fails clearly instead of picking up something else.
    rmSync(path.join(pkg, 'prebuilds'), { recursive: true });
    const none = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, PREBUILDS_ONLY: '1' } });
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/No native build was found/);
  }, 240_000);
});

describe('entry points', () => {
  it('ESM import and CommonJS require expose the same API', () => {
    expect(existsSync(path.join(ROOT, 'dist', 'index.mjs'))).toBe(true);
    const esm = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `import * as m from ${JSON.stringify(path.join(ROOT, 'dist', 'index.mjs'))}; console.log(Object.keys(m).filter(k => k !== 'default').sort().join(','))`],
      { encoding: 'utf8' },
    );
    expect(esm.status, esm.stderr).toBe(0);
    const cjs = require(path.join(ROOT, 'dist', 'index.js'));
    const cjsKeys = Object.keys(cjs).filter((k) => k !== '__esModule').sort().join(',');
    expect(esm.stdout.trim()).toBe(cjsKeys);
    for (const k of ['Repo', 'commit', 'checkout', 'resolveRev', 'listRefs', 'fsck', 'prune', 'pullLocal', 'OstreeError']) {
      expect(cjsKeys.split(',')).toContain(k);
    }
  });
});
