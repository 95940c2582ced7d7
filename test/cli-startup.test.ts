// CLI start-up: small commands load their modules from the CLI bundles (one
// file per group, compiled with a V8 code cache) and none of Node's heavy
// built-in modules; the code cache is written, reused, and survives being
// corrupted; the output is ostree's either way. No timings are asserted.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, CLI, ROOT, tmpdir, cleanupTmp, makeTree, ostree, ok } from './helpers/interop';

const DIST = path.join(ROOT, 'dist');

/** A preload that reports, at exit, which dist/ files Node compiled from disk and which built-in modules loaded. */
function writeProbe(dir: string): string {
  const probe = path.join(dir, 'probe.js');
  fs.writeFileSync(
    probe,
    `const M = require('module'); const seen = []; const orig = M.prototype._compile;
M.prototype._compile = function (c, f) { seen.push(f); return orig.call(this, c, f); };
process.on('exit', () => require('fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({ compiled: seen, builtins: process.moduleLoadList })));\n`,
  );
  return probe;
}

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv, node: string[] = []): Run {
  const r = spawnSync(process.execPath, [...node, CLI, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(SKIP_INTEROP)('CLI start-up', () => {
  let d: string;
  let repo: string;
  let cache: string;
  let probe: string;
  beforeAll(() => {
    d = tmpdir('node-ostree-startup-');
    repo = path.join(d, 'repo');
    cache = path.join(d, 'cache');
    ok(ostree(['init', `--repo=${repo}`, '--mode=bare-user']));
    makeTree(path.join(d, 'tree'));
    ok(ostree(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'one', path.join(d, 'tree')]));
    probe = writeProbe(d);
  });
  afterAll(() => cleanupTmp());

  it('the build made the bundles', () => {
    for (const g of ['core', 'read']) {
      const head = fs.readFileSync(path.join(DIST, 'cli', `ostree.${g}.bundle.js`), 'latin1').slice(0, 200);
      expect(head).toMatch(/^\/\/ node-ostree cli bundle [0-9a-f]{16}: \d+ modules/);
    }
  });

  const small: Array<[string, string[], string[]]> = [
    // command, its arguments, built-in modules it must not load
    ['rev-parse', ['rev-parse', 'main'], ['crypto', 'child_process', 'stream', 'internal/fs/promises', 'zlib', 'net']],
    ['refs', ['refs'], ['crypto', 'child_process', 'stream', 'zlib', 'net']],
    ['show', ['show', 'main'], ['crypto', 'child_process', 'stream', 'internal/fs/promises', 'zlib', 'net']],
    ['log', ['log', 'main'], ['crypto', 'child_process', 'stream', 'internal/fs/promises', 'zlib', 'net']],
    ['ls', ['ls', '-R', 'main'], ['crypto', 'child_process', 'zlib', 'net']],
    // (cat writes through process.stdout, which is a net.Socket on a pipe)
    ['cat', ['cat', 'main', '/hello.txt'], ['crypto', 'child_process', 'zlib']],
    ['config', ['config', 'get', 'core.mode'], ['crypto', 'child_process', 'stream', 'zlib', 'net']],
  ];
  for (const [name, args, heavy] of small) {
    it(`${name}: ostree's output, from the bundles, without ${heavy.join(', ')}`, () => {
      const out = path.join(d, `probe-${name}.json`);
      const r = run([`--repo=${repo}`, ...args], { NODE_OSTREE_CACHE_DIR: cache, PROBE_OUT: out }, ['-r', probe]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(ostree([`--repo=${repo}`, ...args]).stdout);
      const { compiled, builtins } = JSON.parse(fs.readFileSync(out, 'utf8')) as { compiled: string[]; builtins: string[] };
      const fromDist = compiled.filter((f) => f.startsWith(DIST + path.sep)).map((f) => path.relative(DIST, f));
      expect(fromDist.sort()).toEqual(['cli/bundle.js', 'cli/main.js']);
      for (const m of heavy) expect(builtins, m).not.toContain(`NativeModule ${m}`);
    });
  }

  it('writes the code cache once, then uses it; a corrupt one is replaced', () => {
    const dir = path.join(d, 'cache2');
    const env = { NODE_OSTREE_CACHE_DIR: dir, NODE_OSTREE_DEBUG_STARTUP: '1' };
    const want = ok(ostree([`--repo=${repo}`, 'rev-parse', 'main'])) + '\n';
    const first = run([`--repo=${repo}`, 'rev-parse', 'main'], env);
    expect(first.stdout).toBe(want);
    expect(first.stderr).toMatch(/^startup: core: code cache miss /m);
    const files = fs.readdirSync(dir).filter((f) => f.startsWith('cli-core-') && f.endsWith('.v8cache'));
    expect(files).toHaveLength(1);
    const second = run([`--repo=${repo}`, 'rev-parse', 'main'], env);
    expect(second.stdout).toBe(want);
    expect(second.stderr).toMatch(/^startup: core: code cache hit /m);
    fs.writeFileSync(path.join(dir, files[0]), Buffer.alloc(4096, 0x5a));
    const third = run([`--repo=${repo}`, 'rev-parse', 'main'], env);
    expect(third.stdout).toBe(want);
    expect(third.stderr).toMatch(/^startup: core: code cache rejected /m);
    expect(run([`--repo=${repo}`, 'rev-parse', 'main'], env).stderr).toMatch(/^startup: core: code cache hit /m);
  });

  it('an unwritable cache directory only costs time', () => {
    const file = path.join(d, 'not-a-dir');
    fs.writeFileSync(file, '');
    const r = run([`--repo=${repo}`, 'rev-parse', 'main'], { NODE_OSTREE_CACHE_DIR: path.join(file, 'sub') });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(ok(ostree([`--repo=${repo}`, 'rev-parse', 'main'])) + '\n');
  });

  it('without the bundles (NODE_OSTREE_NO_BUNDLE=1) the modules load from dist/ with the same output', () => {
    const out = path.join(d, 'probe-nobundle.json');
    const r = run([`--repo=${repo}`, 'show', 'main'], { NODE_OSTREE_NO_BUNDLE: '1', PROBE_OUT: out }, ['-r', probe]);
    expect(r.stdout).toBe(ostree([`--repo=${repo}`, 'show', 'main']).stdout);
    const { compiled } = JSON.parse(fs.readFileSync(out, 'utf8')) as { compiled: string[] };
    expect(compiled).toContain(path.join(DIST, 'repo', 'repo.js'));
  });

  it('a module loaded from disk after the bundles gets the bundled instances (repo/repo.js is never loaded twice)', () => {
    // commit loads lib/commit/ from disk; its requires of bundled modules are served from the bundles.
    const bundled = new Set<string>();
    for (const g of ['core', 'read']) {
      const text = fs.readFileSync(path.join(DIST, 'cli', `ostree.${g}.bundle.js`), 'latin1');
      for (const m of text.matchAll(/^define\("([^"]+)"/gm)) bundled.add(m[1]);
    }
    expect(bundled).toContain('repo/repo.js');
    const out = path.join(d, 'probe-commit.json');
    const r = run(
      [`--repo=${repo}`, 'commit', '-b', 'second', '-s', 'two', '--timestamp=2020-01-01T00:00:00Z', path.join(d, 'tree')],
      { NODE_OSTREE_CACHE_DIR: cache, PROBE_OUT: out },
      ['-r', probe],
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(ok(ostree([`--repo=${repo}`, 'rev-parse', 'second'])));
    ok(ostree([`--repo=${repo}`, 'fsck']), 'ostree fsck');
    const { compiled } = JSON.parse(fs.readFileSync(out, 'utf8')) as { compiled: string[] };
    const fromDist = compiled.filter((f) => f.startsWith(DIST + path.sep)).map((f) => path.relative(DIST, f));
    expect(fromDist.length).toBeGreaterThan(2); // the commit modules did load from disk
    expect(fromDist.filter((f) => bundled.has(f))).toEqual([]);
  });

  // ostree ignores SIGPIPE (GLib does): `ls`/`show`/`log` go on with their output dropped and exit 0, `cat` fails
  // with "Error writing to file descriptor: Broken pipe" and status 1. Scripts under `set -o pipefail` see those
  // statuses, so ours must be the same, on both output paths (the driver's fd writer and process.stdout).
  it('a reader that goes away gives the status and message ostree gives (fd writes and the stream)', () => {
    const many = path.join(d, 'many');
    fs.mkdirSync(many);
    for (let i = 0; i < 2000; i++) fs.writeFileSync(path.join(many, `file-with-a-long-name-${String(i).padStart(5, '0')}`), `${i}\n`);
    ok(ostree([`--repo=${repo}`, 'commit', '-b', 'many', '-s', 'many', many]));
    const sh = (cmd: string) => spawnSync('bash', ['-c', `set -o pipefail; ${cmd} | head -c 1 >/dev/null`], { encoding: 'utf8' });
    // ls -R writes ~120 kB through the driver's fd writer, cat a 300 kB file through process.stdout: both outgrow the pipe.
    for (const args of ['ls -R many', 'log many', 'cat main /big.bin']) {
      const theirs = sh(`ostree --repo=${repo} ${args}`);
      const mine = sh(`"${process.execPath}" "${CLI}" --repo=${repo} ${args}`);
      expect(mine.status, args).toBe(theirs.status);
      expect(mine.stderr, args).toBe(theirs.stderr);
    }
    expect(sh(`"${process.execPath}" "${CLI}" --repo=${repo} cat main /big.bin`).status).toBe(1);
  });
});
