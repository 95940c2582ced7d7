// An application updater on node-ostree, as an Electron main process (or
// plain Node) can run it: pull the newest commit of a branch from an update
// server (by static delta when the server has one), deploy it beside the
// running version, switch `current` to it atomically, run a health check,
// and roll back if it fails. Old versions are cleaned up, keeping three.
//
// Layout of the install directory (see AppDeployments):
//   INSTALL/repo/                  a bare-user repository (no root needed)
//   INSTALL/versions/COMMIT.N/     the versions, hardlinked from the repo
//   INSTALL/current -> versions/…  what the launcher starts
//
// Command line (plain Node):
//   node examples/electron-updater.js --install DIR --url URL --ref REF
//        [--remote NAME] [--no-gpg-verify | --gpg-key FILE.asc]
//        [--merge-dir config] [--health-cmd 'CMD'] [--health-timeout MS] [--keep N]
// Exit status: 0 up to date or updated, 2 updated but unhealthy and rolled
// back, 1 error. One JSON line on stdout says what happened.
//
// In an Electron main process:
//   const { updateApp } = require('node-ostree/examples/electron-updater');
//   app.whenReady().then(async () => {
//     const r = await updateApp({ installDir, url, ref: 'myapp/x86_64/stable', gpgVerify: false });
//     if (r.status === 'updated') { app.relaunch(); app.exit(0); }
//   });
// The default health check runs `health-check.js` of the new version, if it
// has one, with this very executable in Node mode (ELECTRON_RUN_AS_NODE=1,
// which plain Node ignores); exit status 0 within the timeout is healthy.
'use strict';
const { promises: fsp } = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Repo, AppDeployments, pull, resolveRev, addRemote, getRemote, importKeysToRemote, OstreeError } = require('node-ostree');

/** Open INSTALL/repo, creating a bare-user repository on first run. */
async function openRepo(installDir) {
  const p = path.join(installDir, 'repo');
  try {
    return await Repo.open(p);
  } catch (err) {
    if (!(err instanceof OstreeError && err.code === 'OSTREE_REPO_NOT_FOUND')) throw err;
    await fsp.mkdir(installDir, { recursive: true });
    return Repo.create(p, { mode: 'bare-user' });
  }
}

/** Configure the update remote once (its URL is updated when it changes). */
async function ensureRemote(repo, { remote, url, gpgVerify, gpgKey }) {
  const existing = await getRemote(repo, remote).catch((err) => {
    if (err instanceof OstreeError && err.code === 'OSTREE_REMOTE_NOT_FOUND') return null;
    throw err;
  });
  if (existing && existing.url === url) return;
  await addRemote(repo, remote, url, { force: true, noGpgVerify: !gpgVerify });
  if (gpgVerify && gpgKey) await importKeysToRemote(repo, remote, { files: [gpgKey] });
}

/**
 * A health check: a function (dir) → boolean | Promise<boolean>, or a
 * command run in the new version's directory; it fails on a non-zero exit
 * or when `timeoutMs` passes (the process is then killed).
 */
function runHealthCheck(check, dir, timeoutMs) {
  if (typeof check === 'function') {
    return Promise.race([
      Promise.resolve().then(() => check(dir)),
      new Promise((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
    ]).then(Boolean, () => false);
  }
  return new Promise((resolve) => {
    const env = { ...process.env, ELECTRON_RUN_AS_NODE: '1', APP_DIR: dir };
    const child = Array.isArray(check)
      ? spawn(check[0], check.slice(1), { cwd: dir, env, stdio: 'ignore' })
      : spawn(check, { cwd: dir, env, stdio: 'ignore', shell: true });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 && signal === null);
    });
  });
}

/** The default check: the version's own health-check.js, if it ships one. */
async function defaultHealthCheck(dir) {
  const script = path.join(dir, 'health-check.js');
  try {
    await fsp.access(script);
  } catch {
    return true;
  }
  return runHealthCheck([process.execPath, script], dir, 30_000);
}

/** Commits whose health check failed once: not deployed again (INSTALL/rejected-commits, one per line). */
async function readRejected(installDir) {
  try {
    return new Set((await fsp.readFile(path.join(installDir, 'rejected-commits'), 'utf8')).split('\n').filter(Boolean));
  } catch (err) {
    if (err.code === 'ENOENT') return new Set();
    throw err;
  }
}

async function reject(installDir, commit) {
  const list = [...(await readRejected(installDir)), commit].slice(-20);
  const file = path.join(installDir, 'rejected-commits');
  await fsp.writeFile(file + '.tmp', list.join('\n') + '\n');
  await fsp.rename(file + '.tmp', file);
}

/**
 * Check for an update and apply it. Returns { status: 'up-to-date' |
 * 'updated' | 'rolled-back' | 'rejected', from, to, pulled }; 'rejected'
 * means the newest commit failed its health check before and is skipped.
 */
async function updateApp(opts) {
  const {
    installDir,
    url,
    ref,
    remote = 'origin',
    gpgVerify = true,
    gpgKey,
    mergeDirs = ['config'],
    healthCheck = defaultHealthCheck,
    healthTimeoutMs = 30_000,
    keep = 3,
    signal,
    log = () => {},
  } = opts;
  const repo = await openRepo(installDir);
  await ensureRemote(repo, { remote, url, gpgVerify, gpgKey });
  const app = await AppDeployments.open(installDir, { repo });
  const before = await app.current();

  // 1. Pull: only what is missing; by static delta when the server has one from what we have.
  let lastShown = 0;
  const pulled = await pull(repo, {
    remote,
    refs: [ref],
    signal,
    onProgress: (p) => {
      const now = Date.now();
      if (now - lastShown < 500) return;
      lastShown = now;
      const via = p.deltaPartsTotal ? ` delta parts ${p.deltaPartsFetched}/${p.deltaPartsTotal}` : '';
      log(`pull: ${p.phase} ${p.loaded}/${p.total ?? '?'} ${p.unit}${via}, ${p.bytesTransferred} bytes`);
    },
  });
  const target = await resolveRev(repo, `${remote}:${ref}`);
  const summary = { bytes: pulled.bytesTransferred, deltaParts: pulled.deltaPartsFetched, objects: pulled.metadataFetched + pulled.contentFetched };
  if (before && before.commit === target) return { status: 'up-to-date', from: before.commit, to: target, pulled: summary };
  if ((await readRejected(installDir)).has(target)) return { status: 'rejected', from: before ? before.commit : null, to: target, pulled: summary };

  // 2. Deploy beside the running version and switch `current` to it.
  const d = await app.deploy(`${remote}:${ref}`, {
    mergeDirs,
    signal,
    onProgress: (p) => p.phase !== 'checkout' && log(`deploy: ${p.phase} ${p.loaded}/${p.total}`),
  });
  log(`deployed ${d.name} (${d.version ?? 'no version'})`);

  // 3. Health check; roll back if it fails.
  const healthy = await runHealthCheck(healthCheck, d.path, healthTimeoutMs);
  if (!healthy) {
    if (before) {
      const back = await app.rollback();
      log(`health check failed: rolled back to ${back.name}`);
    }
    await reject(installDir, target);
    return { status: 'rolled-back', from: before ? before.commit : null, to: target, pulled: summary };
  }

  // 4. Tidy up: keep `keep` versions (plus current, previous, pinned), and the objects they need.
  const { removed } = await app.cleanup({ keep, prune: true });
  if (removed.length) log(`removed ${removed.length} old version(s)`);
  return { status: 'updated', from: before ? before.commit : null, to: target, pulled: summary };
}

function parseArgs(argv) {
  const o = { gpgVerify: true, mergeDirs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--install') o.installDir = val();
    else if (a === '--url') o.url = val();
    else if (a === '--ref') o.ref = val();
    else if (a === '--remote') o.remote = val();
    else if (a === '--no-gpg-verify') o.gpgVerify = false;
    else if (a === '--gpg-key') o.gpgKey = path.resolve(val());
    else if (a === '--merge-dir') o.mergeDirs.push(val());
    else if (a === '--health-cmd') o.healthCheck = val();
    else if (a === '--health-timeout') o.healthTimeoutMs = Number(val());
    else if (a === '--keep') o.keep = Number(val());
    else throw new Error(`Unknown option ${a}`);
  }
  if (!o.installDir || !o.url || !o.ref) throw new Error('Usage: electron-updater.js --install DIR --url URL --ref REF [options]');
  if (!o.mergeDirs.length) delete o.mergeDirs;
  return o;
}

if (require.main === module) {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
  updateApp({ ...opts, signal: ac.signal, log: (s) => console.error(s) }).then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exitCode = r.status === 'rolled-back' ? 2 : 0;
    },
    (err) => {
      console.error(`error: ${err.message}${err.code ? ` (${err.code})` : ''}`);
      process.exitCode = 1;
    },
  );
}

module.exports = { updateApp, runHealthCheck };
