// Packaging: `npm run build:prebuilds` produces a stripped N-API prebuild that the
// library loads with PREBUILDS_ONLY=1 (no local build), the ESM and CommonJS
// entry points both work, and the public error model holds.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, readdirSync, realpathSync, renameSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT, tmpdir, cleanupTmp } from './helpers/interop';

afterAll(cleanupTmp);

// Shared by the prebuild tests below: a copy of the package with its prebuild built.
let pkg = '';

describe('prebuilds', () => {
  it('npm run build:prebuilds builds prebuilds/<platform>-<arch>/*.node and the library loads it with PREBUILDS_ONLY=1', () => {
    // Work on a copy so the suite's own build/ is never rebuilt under running tests.
    pkg = path.join(tmpdir(), 'pkg');
    mkdirSync(pkg);
    for (const f of ['package.json', 'binding.gyp', 'CMakeLists.txt', 'native', 'scripts', 'dist', 'examples', 'README.md']) {
      cpSync(path.join(ROOT, f), path.join(pkg, f), { recursive: true });
    }
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
    const build = spawnSync('npm', ['run', 'build:prebuilds'], { cwd: pkg, encoding: 'utf8', env: { ...process.env, JOBS: '2' } });
    expect(build.status, build.stderr).toBe(0);
    const dir = path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`);
    const files = readdirSync(dir);
    // Tagged for glibc, so that node-gyp-build never hands it to a musl system.
    expect(files).toContain('node-ostree.glibc.node');
    rmSync(path.join(pkg, 'build'), { recursive: true, force: true });
    writeFileSync(path.join(pkg, 'hello.txt'), 'Hello, OSTree!\n');
    const script = `
      const lib = require(${JSON.stringify(path.join(pkg, 'dist', 'binding.js'))});
      lib.native().checksum_files([${JSON.stringify(path.join(pkg, 'hello.txt'))}], { uid: 0, gid: 0 })
        .then((r) => console.log(lib.native().version(), r[0].checksum));`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, PREBUILDS_ONLY: '1' } });
    expect(run.status, run.stderr).toBe(0);
    // uid/gid forced to 0 and mode 0644: the checksum ostree gives hello.txt.
    const expectedMode = spawnSync('stat', ['-c', '%a', path.join(pkg, 'hello.txt')], { encoding: 'utf8' }).stdout.trim();
    if (expectedMode === '644') expect(run.stdout.trim()).toBe('0.1.0 d54de4d5e87b6e23a70888c184728279c0e3a0d9ed8d4bb4fe2151e05f9599e8');
    else expect(run.stdout.trim()).toMatch(/^0\.1\.0 [0-9a-f]{64}$/);
    // Without a prebuild or a build, loading fails clearly instead of picking up something else.
    const saved = path.join(pkg, 'prebuilds.saved');
    renameSync(path.join(pkg, 'prebuilds'), saved);
    const none = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, PREBUILDS_ONLY: '1' } });
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/No native build was found/);
    renameSync(saved, path.join(pkg, 'prebuilds'));
  }, 240_000);

  // npm pack, then npm install of the tarball in an empty directory whose PATH
  // has only `node` and `sh` (no cc, c++, make or python3): the prebuild loads
  // and the demo runs. Dependencies come from npm's cache or the registry.
  const npmCli = (() => {
    const r = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' });
    if (r.status !== 0) return '';
    const cli = path.join(path.dirname(realpathSync(r.stdout.trim())), 'npm-cli.js');
    return existsSync(cli) ? cli : '';
  })();
  const registryUp = npmCli !== '' &&
    spawnSync(process.execPath, [npmCli, 'view', 'node-gyp-build', 'version', '--prefer-offline'], { encoding: 'utf8', timeout: 30_000 }).status === 0;

  it.skipIf(!registryUp)('the packed tarball installs with no compiler on PATH and runs the demo (skipped when npm or its registry is unavailable)', () => {
    expect(pkg, 'needs the prebuild from the test above').not.toBe('');
    expect(existsSync(path.join(pkg, 'prebuilds'))).toBe(true);
    const out = path.join(tmpdir(), 'packed');
    mkdirSync(out);
    // --ignore-scripts: the prebuild and dist/ are already built (prepack would build them again).
    const pack = spawnSync(process.execPath, [npmCli, 'pack', '--ignore-scripts', '--json', '--pack-destination', out],
      { cwd: pkg, encoding: 'utf8' });
    expect(pack.status, pack.stderr).toBe(0);
    const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const packed = info.files.map((f) => f.path);
    expect(packed).toContain(`prebuilds/${process.platform}-${process.arch}/node-ostree.glibc.node`);
    for (const f of ['binding.gyp', 'CMakeLists.txt', 'scripts/zlib-header.js', 'scripts/gyp-list.js', 'native/sha256.cc']) {
      expect(packed).toContain(f);
    }

    // A PATH with node and sh only; prove the toolchain is out of reach.
    const bin = path.join(out, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    symlinkSync('/bin/sh', path.join(bin, 'sh'));
    const env = { HOME: process.env.HOME ?? out, PATH: bin, npm_config_update_notifier: 'false' };
    const tools = spawnSync('/bin/sh', ['-c', 'command -v cc || command -v c++ || command -v gcc || command -v make || command -v python3'], { env, encoding: 'utf8' });
    expect(tools.status, `toolchain visible: ${tools.stdout}`).not.toBe(0);

    const app = path.join(out, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}\n');
    const install = spawnSync(process.execPath, [npmCli, 'install', '--prefer-offline', '--no-audit', '--no-fund', path.join(out, info.filename)],
      { cwd: app, env, encoding: 'utf8', timeout: 120_000 });
    expect(install.status, install.stderr + install.stdout).toBe(0);
    const installed = path.join(app, 'node_modules', 'node-ostree');
    expect(existsSync(path.join(installed, 'build')), 'nothing may have been compiled').toBe(false);

    const demo = spawnSync(process.execPath, [path.join(installed, 'examples', 'demo.js')], { cwd: app, env, encoding: 'utf8', timeout: 60_000 });
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/fsck/i);
    const which = spawnSync(process.execPath, ['-e', `console.log(require('node-gyp-build').resolve(${JSON.stringify(installed)}))`],
      { cwd: installed, env, encoding: 'utf8' });
    expect(which.stdout.trim()).toBe(path.join(installed, 'prebuilds', `${process.platform}-${process.arch}`, 'node-ostree.glibc.node'));
  }, 180_000);
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
