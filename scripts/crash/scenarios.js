// The operations the crash-consistency harness kills (scripts/crash-test.js):
// each scenario builds a template state once (repos, trees, a server), then
// for every kill point starts from a fresh copy of it and runs one CLI
// operation on the copy's "target" repository. A scenario gives:
//   args(dir)      the CLI arguments of the operation, in a copy at dir
//   target(dir)    the repository the checks look at
//   result(dir)    what a completed run leaves, compared with a reference run
//   reset(dir)     what must be undone before rerunning (checkout's target)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const TS1 = '2024-01-01T00:00:00Z';
const TS2 = '2024-02-01T00:00:00Z';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status} ${r.signal || ''}\n${r.stderr}`);
  return r.stdout.trim();
}
const ours = (args, opts) => run(process.execPath, [CLI, ...args], opts);

/** Deterministic bytes: a file's content depends on its name and version only. */
function bytes(name, version, size) {
  const out = Buffer.alloc(size);
  let block = Buffer.alloc(0);
  for (let off = 0, i = 0; off < size; off += block.length, i++) {
    block = crypto.createHash('sha256').update(`${name}:${version}:${i}`).digest();
    block.copy(out, off);
  }
  return out;
}

/**
 * A tree of ~70 files in nested directories, small and large (up to 96 kB,
 * so deltas use bsdiff), a symlink and an executable. Version 2 changes a
 * quarter of the files (appending to large ones), adds and removes some.
 */
function makeTree(dir, version) {
  fs.rmSync(dir, { recursive: true, force: true });
  for (let d = 0; d < 6; d++) {
    const sub = path.join(dir, `d${d}`, d % 2 ? 'deep/er' : '');
    fs.mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 12; f++) {
      const name = `d${d}f${f}`;
      if (version === 2 && f === 11) continue; // removed in v2
      const size = f === 0 ? 96 * 1024 : f < 3 ? 16 * 1024 : 40 + f * 37;
      let data = bytes(name, 1, size);
      if (version === 2 && f % 4 === 0) data = Buffer.concat([data, bytes(name, 2, 300)]);
      fs.writeFileSync(path.join(sub, name), data, { mode: f === 5 ? 0o755 : 0o644 });
    }
    if (version === 2) fs.writeFileSync(path.join(sub, `new${d}`), bytes(`new${d}`, 2, 500));
  }
  fs.symlinkSync('d0/d0f1', path.join(dir, 'link'));
}

function copyDir(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  run('cp', ['-a', from, to]);
}

/** Relative paths of the files under dir, with their content hash (a checkout's result). */
function treeSignature(dir) {
  const out = [];
  const walk = (d, rel) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = fs.lstatSync(p);
      if (e.isDirectory()) {
        out.push(`${r}/ ${(st.mode & 0o7777).toString(8)}`);
        walk(p, r);
      } else if (e.isSymbolicLink()) out.push(`${r} -> ${fs.readlinkSync(p)}`);
      else out.push(`${r} ${(st.mode & 0o7777).toString(8)} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir, '');
  return out.join('\n');
}

/** Refs (name=checksum), the object store and commitpartial markers of a repo. */
function repoSignature(repo) {
  const lines = [];
  const walk = (d, rel, fn) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r, fn);
      else fn(path.join(d, e.name), r);
    }
  };
  walk(path.join(repo, 'refs'), '', (p, r) => lines.push(`ref ${r}=${fs.readFileSync(p, 'utf8').trim()}`));
  walk(path.join(repo, 'objects'), '', (p, r) => lines.push(`obj ${r}`));
  walk(path.join(repo, 'state'), '', (p, r) => lines.push(`state ${r}`));
  return lines.sort().join('\n');
}

/** Our trivial-httpd serving dir on a free port, as a child process. */
async function startServer(dir, work) {
  const portFile = path.join(work, `port-${path.basename(dir)}`);
  fs.rmSync(portFile, { force: true });
  const child = spawn(process.execPath, [CLI, 'trivial-httpd', '-p', portFile, dir], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    if (fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()) {
      return { url: `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`, stop: () => child.kill('SIGKILL') };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error('trivial-httpd did not start');
}

/**
 * Build the shared fixtures in work/: trees t1/t2, an archive source repo with
 * c1 then c2 on main and a static delta c1->c2, and a server for it.
 */
async function buildFixtures(work) {
  const t1 = path.join(work, 't1');
  const t2 = path.join(work, 't2');
  makeTree(t1, 1);
  makeTree(t2, 2);
  const src = path.join(work, 'src');
  ours(['init', `--repo=${src}`, '--mode=archive']);
  const c1 = ours(['commit', `--repo=${src}`, '-b', 'main', '-s', 'one', `--timestamp=${TS1}`, t1]);
  // A client that has c1 (origin:main), before c2 exists: the delta pull's start.
  const deltaClient = path.join(work, 'delta-client');
  ours(['init', `--repo=${deltaClient}`, '--mode=bare-user']);
  ours(['pull-local', `--repo=${deltaClient}`, '--remote=origin', src, 'main']);
  const c2 = ours(['commit', `--repo=${src}`, '-b', 'main', '-s', 'two', `--timestamp=${TS2}`, t2]);
  ours(['static-delta', 'generate', `--repo=${src}`, `--from=${c1}`, `--to=${c2}`]);
  ours(['summary', '-u', `--repo=${src}`]);
  const server = await startServer(src, work);
  for (const r of [deltaClient]) ours(['remote', 'add', `--repo=${r}`, '--no-gpg-verify', 'origin', server.url]);
  let deltaDir = null;
  const find = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) find(p);
      else if (e.name === 'superblock') deltaDir = d;
    }
  };
  find(path.join(src, 'deltas'));
  return { t1, t2, src, c1, c2, deltaClient, deltaDir, server };
}

/**
 * The repos the operations write do not sync (core.fsync=false): a SIGKILL
 * loses nothing the kernel has (only power loss needs the syncs), and syncfs
 * on a busy machine costs seconds per run.
 */
function noFsync(repo) {
  // As `config set core.fsync false`, without starting a process.
  const file = path.join(repo, 'config');
  const text = fs.readFileSync(file, 'utf8');
  if (!text.startsWith('[core]\n')) throw new Error(`${file}: [core] is not first`);
  fs.writeFileSync(file, text.replace('[core]\n', '[core]\nfsync=false\n'));
  return repo;
}

/**
 * Templates copy what they share (made once under `cache`): every start
 * of the CLI costs a second or more on a loaded machine.
 */
function cached(cache, name, make) {
  const dir = path.join(cache, name);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    make(dir);
  }
  return dir;
}

/** The scenarios over the fixtures. Each `init(dir)` makes the template state in dir. */
function scenarios(fx) {
  const cache = path.join(path.dirname(fx.src), 'cache');
  const initRepo = (repo, modeArg) =>
    copyDir(
      cached(cache, `empty${modeArg}`, (d) => {
        ours(['init', `--repo=${d}`, modeArg]);
        noFsync(d);
      }),
      repo,
    );
  const commitScenario = (mode) => ({
    name: `commit-${mode}`,
    init(dir) {
      const repo = path.join(dir, 'repo');
      initRepo(repo, `--mode=${mode}`);
      ours(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'one', `--timestamp=${TS1}`, fx.t1]);
    },
    // --skip-if-unchanged: a rerun after the ref moved makes no second commit.
    args: (dir) => ['commit', `--repo=${path.join(dir, 'repo')}`, '-b', 'main', '-s', 'two', `--timestamp=${TS2}`, '--skip-if-unchanged', fx.t2],
    target: (dir) => path.join(dir, 'repo'),
  });
  // A bare-user repo with c1 on main (checkout's and apply-offline's start).
  const bareUserCopy = (dir) =>
    copyDir(
      cached(cache, 'bare-user-c1', (d) => {
        initRepo(d, '--mode=bare-user');
        ours(['pull-local', `--repo=${d}`, fx.src, fx.c1]);
        ours(['refs', `--repo=${d}`, `--create=main`, fx.c1]);
      }),
      path.join(dir, 'repo'),
    );
  return [
    adminDeployScenario(fx, cache),
    commitScenario('bare-user'),
    commitScenario('archive'),
    {
      name: 'pull-http',
      init(dir) {
        const repo = path.join(dir, 'repo');
        initRepo(repo, '--mode=bare-user');
        ours(['remote', 'add', `--repo=${repo}`, '--no-gpg-verify', 'origin', fx.server.url]);
      },
      args: (dir) => ['pull', `--repo=${path.join(dir, 'repo')}`, '--disable-static-deltas', 'origin', 'main'],
      target: (dir) => path.join(dir, 'repo'),
    },
    {
      name: 'pull-http-delta',
      init(dir) {
        copyDir(fx.deltaClient, path.join(dir, 'repo'));
        noFsync(path.join(dir, 'repo'));
      },
      args: (dir) => ['pull', `--repo=${path.join(dir, 'repo')}`, '--require-static-deltas', 'origin', 'main'],
      target: (dir) => path.join(dir, 'repo'),
    },
    {
      name: 'pull-local',
      init(dir) {
        initRepo(path.join(dir, 'repo'), '--mode=archive');
      },
      args: (dir) => ['pull-local', `--repo=${path.join(dir, 'repo')}`, fx.src, 'main'],
      target: (dir) => path.join(dir, 'repo'),
    },
    {
      name: 'checkout',
      init(dir) {
        bareUserCopy(dir);
      },
      args: (dir) => ['checkout', `--repo=${path.join(dir, 'repo')}`, '-U', 'main', path.join(dir, 'co')],
      target: (dir) => path.join(dir, 'repo'),
      reset: (dir) => fs.rmSync(path.join(dir, 'co'), { recursive: true, force: true }),
      result: (dir) => treeSignature(path.join(dir, 'co')),
    },
    {
      name: 'prune',
      init(dir) {
        const repo = path.join(dir, 'repo');
        initRepo(repo, '--mode=archive');
        ours(['pull-local', `--repo=${repo}`, '--depth=1', fx.src, 'main']);
      },
      args: (dir) => ['prune', `--repo=${path.join(dir, 'repo')}`, '--refs-only', '--depth=0'],
      target: (dir) => path.join(dir, 'repo'),
    },
    {
      name: 'static-delta-apply-offline',
      init(dir) {
        bareUserCopy(dir);
      },
      args: (dir) => ['static-delta', 'apply-offline', `--repo=${path.join(dir, 'repo')}`, fx.deltaDir],
      target: (dir) => path.join(dir, 'repo'),
    },
  ];
}

const OSNAME = 'testos';
const BRANCH = 'testos/buildmain/x86_64-runtime';

/** A tiny bootable OS tree (kernel and initramfs in usr/lib/modules), as libtest's setup_os_repository. */
function makeOsTree(dir, version) {
  const w = (rel, data) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
  };
  fs.rmSync(dir, { recursive: true, force: true });
  w('usr/lib/modules/3.6.0/vmlinuz', `a kernel ${version}\n`);
  w('usr/lib/modules/3.6.0/initramfs.img', `an initramfs ${version}\n`);
  w('usr/etc/os-release', 'NAME=TestOS\nID=testos\nPRETTY_NAME="TestOS"\n');
  w('usr/etc/aconfigfile', 'a config file\n');
  for (let i = 0; i < 30; i++) w(`usr/share/data/f${i}`, bytes(`f${i}`, i % 3 === 0 ? version : 1, 200 + i * 50));
}

/** `admin status` with ostree's or our CLI: null on failure, else { text, list: ['CSUM.SERIAL', …] }. */
function adminStatus(cmd, argsPrefix, sysroot, env) {
  const r = spawnSync(cmd, [...argsPrefix, 'admin', 'status', `--sysroot=${sysroot}`], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) return { error: `exit ${r.status}: ${r.stderr.trim()}` };
  const list = [...r.stdout.matchAll(/^[* ] \S+ ([0-9a-f]{64}\.\d+)/gm)].map((m) => m[1]);
  return { text: r.stdout, list };
}

/**
 * The sysroot after a kill: both CLIs' `admin status` succeed, agree, and show
 * the old or the new deployment list complete; boot/loader points at a
 * loader.N with a syslinux.cfg and entries naming existing kernels, one per deployment, and every
 * listed deployment directory exists.
 */
function checkSysroot(sysroot, env, lists) {
  const problems = [];
  const theirs = adminStatus('ostree', [], sysroot, env);
  const mine = adminStatus(process.execPath, [CLI], sysroot, env);
  if (theirs.error) problems.push(`ostree admin status: ${theirs.error}`);
  if (mine.error) problems.push(`our admin status: ${mine.error}`);
  if (theirs.error || mine.error) return problems;
  if (mine.text !== theirs.text) problems.push(`admin status differs:\n${theirs.text}\n---\n${mine.text}`);
  const csums = theirs.list.map((n) => n.split('.')[0]).join(',');
  if (!lists.includes(csums)) problems.push(`deployment list ${csums} is neither the old nor the new one (${lists.join(' | ')})`);
  for (const n of theirs.list) {
    if (!fs.existsSync(path.join(sysroot, 'ostree/deploy', OSNAME, 'deploy', n, 'usr/lib/modules'))) problems.push(`deployment ${n} is incomplete`);
  }
  const loader = fs.readlinkSync(path.join(sysroot, 'boot/loader'));
  if (!/^loader\.[01]$/.test(loader)) problems.push(`boot/loader -> ${loader}`);
  else {
    const entries = path.join(sysroot, 'boot', loader, 'entries');
    const confs = fs.existsSync(entries) ? fs.readdirSync(entries).filter((f) => f.endsWith('.conf')) : [];
    if (!fs.existsSync(path.join(sysroot, 'boot', loader, 'syslinux.cfg'))) problems.push(`${loader}/syslinux.cfg is missing`);
    if (confs.length !== theirs.list.length) problems.push(`${loader}/entries has ${confs.length} entries for ${theirs.list.length} deployments`);
    for (const c of confs) {
      const text = fs.readFileSync(path.join(entries, c), 'utf8');
      for (const m of text.matchAll(/^(linux|initrd) (\S+)$/gm)) {
        if (!fs.existsSync(path.join(sysroot, 'boot', m[2]))) problems.push(`${loader}/entries/${c}: ${m[1]} ${m[2]} is missing`);
      }
    }
  }
  return problems;
}

/**
 * `admin deploy` of a second commit onto a sysroot with one deployment (of the
 * first), made by ostree. After a kill: checkSysroot; then `admin cleanup` and a
 * rerun of the deploy must complete with the new commit as the default.
 */
function adminDeployScenario(fx, cache) {
  const env = { OSTREE_SYSROOT_DEBUG: 'mutable-deployments' };
  const state = {};
  const sysroot = (dir) => path.join(dir, 'sysroot');
  return {
    name: 'admin-deploy',
    env,
    init(dir) {
      const osdata = path.join(cache, 'osdata');
      const osrepo = path.join(cache, 'osrepo');
      if (!state.c1) {
        fs.rmSync(osrepo, { recursive: true, force: true });
        fs.mkdirSync(cache, { recursive: true });
        run('ostree', ['init', `--repo=${osrepo}`, '--mode=archive']);
        makeOsTree(osdata, 1);
        state.c1 = run('ostree', ['commit', `--repo=${osrepo}`, '--bootable', '-b', BRANCH, '-s', 'one', `--timestamp=${TS1}`, osdata]);
        makeOsTree(osdata, 2);
        state.c2 = run('ostree', ['commit', `--repo=${osrepo}`, '--bootable', '-b', BRANCH, '-s', 'two', `--timestamp=${TS2}`, osdata]);
      }
      const root = sysroot(dir);
      fs.mkdirSync(root, { recursive: true });
      run('ostree', ['admin', 'init-fs', root]);
      // A syslinux bootloader (libtest's setup_os_boot_syslinux), so the deploy writes its config too.
      fs.mkdirSync(path.join(root, 'boot/loader.0'), { recursive: true });
      fs.symlinkSync('loader.0', path.join(root, 'boot/loader'));
      fs.writeFileSync(path.join(root, 'boot/loader/syslinux.cfg'), '');
      fs.mkdirSync(path.join(root, 'boot/syslinux'), { recursive: true });
      fs.symlinkSync('../loader/syslinux.cfg', path.join(root, 'boot/syslinux/syslinux.cfg'));
      run('ostree', ['admin', 'os-init', OSNAME, `--sysroot=${root}`]);
      const repo = path.join(root, 'ostree/repo');
      run('ostree', ['config', `--repo=${repo}`, 'set', 'core.fsync', 'false']);
      run('ostree', ['pull-local', `--repo=${repo}`, '--remote=testos', osrepo, state.c1]);
      run('ostree', ['admin', 'deploy', `--sysroot=${root}`, `--os=${OSNAME}`, state.c1], { env: { ...process.env, ...env } });
      // The branch at c2: what the deploy under test deploys.
      run('ostree', ['pull-local', `--repo=${repo}`, '--remote=testos', osrepo, BRANCH]);
    },
    args: (dir) => ['admin', 'deploy', `--sysroot=${sysroot(dir)}`, `--os=${OSNAME}`, `testos:${BRANCH}`],
    target: (dir) => path.join(sysroot(dir), 'ostree/repo'),
    check: (dir) => checkSysroot(sysroot(dir), env, [state.c1, `${state.c2},${state.c1}`]),
    reset: (dir) => run(process.execPath, [CLI, 'admin', 'cleanup', `--sysroot=${sysroot(dir)}`], { env: { ...process.env, ...env } }),
    // A rerun after a completed swap deploys c2 again (c2.1 before c2.0): the default and the count are what matter.
    result: (dir) => {
      const st = adminStatus('ostree', [], sysroot(dir), env);
      if (st.error) return `status: ${st.error}`;
      return `default ${st.list[0]?.split('.')[0] === state.c2 ? 'new' : st.list[0]}, ${st.list.length} deployments; ${checkSysroot(sysroot(dir), env, [`${state.c2},${state.c1}`, `${state.c2},${state.c2}`]).join('; ')}`;
    },
  };
}

module.exports = { CLI, ROOT, run, ours, buildFixtures, scenarios, adminDeployScenario, checkSysroot, repoSignature, treeSignature, copyDir };
