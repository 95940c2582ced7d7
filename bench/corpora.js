'use strict';
// Benchmark inputs that live in the cache directory: the Debian minbase root,
// a copy of this machine's system directories (real libraries, headers and
// documentation, with the size mix and duplication the generator lacks) and
// the large files for the checksum-throughput scenario. (The synthetic
// tree is in gen-tree.js.) Each corpus is a directory plus a `<dir>.json`
// manifest written last, so an interrupted build is redone, not reused.

const fs = require('node:fs');
const path = require('node:path');
const cp = require('node:child_process');
const { rng } = require('./gen-tree');

/** Count what a tree holds (for the manifest and the report). */
function treeStats(root) {
  const s = { files: 0, dirs: 0, symlinks: 0, bytes: 0, other: 0 };
  const walk = (dir) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) {
        s.dirs++;
        walk(p);
      } else if (ent.isSymbolicLink()) s.symlinks++;
      else if (ent.isFile()) {
        s.files++;
        s.bytes += fs.lstatSync(p).size;
      } else s.other++;
    }
  };
  walk(root);
  return s;
}

/** The mirror apt is configured with for `suite` (deb822 .sources or one-line .list), or null. */
function aptMirror(suite) {
  const candidates = [];
  const dir = '/etc/apt/sources.list.d';
  const files = ['/etc/apt/sources.list'];
  try {
    for (const f of fs.readdirSync(dir).sort()) files.push(path.join(dir, f));
  } catch {
    // no sources.list.d
  }
  for (const f of files) {
    let text;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    if (f.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k) => (stanza.match(new RegExp(`^${k}:\\s*(.*)$`, 'mi')) || [])[1]?.trim().split(/\s+/) || [];
        if (field('Types').includes('deb') && field('Suites').includes(suite)) candidates.push(...field('URIs'));
      }
    } else {
      for (const line of text.split('\n')) {
        const m = line.match(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/);
        if (m && m[2] === suite) candidates.push(m[1]);
      }
    }
  }
  return candidates[0] || null;
}

/** Remove device nodes, FIFOs and sockets (ostree refuses them; a root tree has some in /dev). */
function removeSpecialFiles(root) {
  let removed = 0;
  const walk = (dir) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isCharacterDevice() || ent.isBlockDevice() || ent.isFIFO() || ent.isSocket()) {
        fs.unlinkSync(p);
        removed++;
      }
    }
  };
  walk(root);
  return removed;
}

/** Turn a finished debootstrap directory into the cached corpus. */
function finishDebian(tmp, dir, info) {
  const mounts = cp.spawnSync('findmnt', ['-rno', 'TARGET'], { encoding: 'utf8' }).stdout || '';
  if (mounts.split('\n').some((m) => m.startsWith(path.resolve(tmp) + '/'))) {
    throw new Error(`filesystems are still mounted under ${tmp}; unmount them first`);
  }
  const removedSpecial = removeSpecialFiles(tmp);
  fs.renameSync(tmp, dir);
  const manifest = { ...info, removedSpecial, ...treeStats(dir) };
  fs.writeFileSync(`${dir}.json`, JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/**
 * A Debian minbase root made with debootstrap, cached. Returns
 * {dir, name, ...stats} or {skipped: reason} when it can't be made here.
 */
function ensureDebian({ cacheDir, suite = 'bookworm', log = () => {} }) {
  const name = `debian-${suite}-minbase`;
  const dir = path.join(cacheDir, name);
  if (fs.existsSync(`${dir}.json`) && fs.existsSync(dir)) return { dir, name, ...JSON.parse(fs.readFileSync(`${dir}.json`, 'utf8')) };
  const which = cp.spawnSync('sh', ['-c', 'command -v debootstrap'], { encoding: 'utf8' });
  if (which.status !== 0) return { name, skipped: 'debootstrap is not installed (apt-get install debootstrap)' };
  if (process.getuid && process.getuid() !== 0) return { name, skipped: 'debootstrap needs root' };
  const mirror = aptMirror(suite);
  const tmp = `${dir}.tmp-${process.pid}`;
  const logFile = `${dir}.debootstrap.log`;
  fs.mkdirSync(cacheDir, { recursive: true });
  log(`debootstrap --variant=minbase ${suite} ${tmp} ${mirror || '(default mirror)'} (log: ${logFile})`);
  const args = ['--variant=minbase', suite, tmp];
  if (mirror) args.push(mirror);
  const fd = fs.openSync(logFile, 'w');
  const r = cp.spawnSync('debootstrap', args, { stdio: ['ignore', fd, fd], timeout: 30 * 60 * 1000 });
  fs.closeSync(fd);
  if (r.status !== 0) {
    const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
    // debootstrap may leave /proc or /sys mounted inside on failure; only delete when nothing is.
    const mounts = cp.spawnSync('findmnt', ['-rno', 'TARGET'], { encoding: 'utf8' }).stdout || '';
    if (!mounts.includes(tmp)) fs.rmSync(tmp, { recursive: true, force: true });
    return { name, skipped: `debootstrap failed (exit ${r.status ?? r.signal}): ${tail}` };
  }
  const manifest = finishDebian(tmp, dir, { suite, mirror, made: new Date().toISOString() });
  return { dir, name, ...manifest };
}

/** What the system corpus copies, in this order, while the total stays under the cap. */
const SYSTEM_SOURCES = ['/usr/share', '/usr/include', '/usr/lib/x86_64-linux-gnu'];

/** Apparent size in bytes of a file or tree (du -sb), or 0 when it can't be read. */
function duBytes(p) {
  const r = cp.spawnSync('du', ['-sb', p], { encoding: 'utf8' });
  return Number((r.stdout || '').split('\t')[0]) || 0;
}

/** cp -a SRC to DEST (DEST's parent is made first); throws with cp's message. */
function copyTree(src, dest) {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const r = cp.spawnSync('cp', ['-a', src, dest], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cp -a ${src} ${dest} failed: ${(r.stderr || '').trim()}`);
}

/**
 * A copy of system directories of this machine (by default /usr/share,
 * /usr/include and /usr/lib/x86_64-linux-gnu), cached, at most `capBytes`
 * (1.5 GiB): sources are taken whole while they fit, then the entries of the
 * next one in name order while they fit, and the rest is left out. Paths
 * keep their place (CORPUS/usr/share/…). The manifest records each source,
 * what of it went in and what was left out; it is a snapshot of the day it
 * was made (remove the directory to make it again). Device nodes, FIFOs and
 * sockets are removed, as ostree refuses them.
 */
function ensureSystemCopy({ cacheDir, sources = SYSTEM_SOURCES, capBytes = 1.5 * 2 ** 30, log = () => {} }) {
  const name = 'system-usr';
  const dir = path.join(cacheDir, name);
  if (fs.existsSync(`${dir}.json`) && fs.existsSync(dir)) return { dir, name, ...JSON.parse(fs.readFileSync(`${dir}.json`, 'utf8')) };
  const present = sources.filter((s) => fs.existsSync(s));
  if (!present.length) return { name, skipped: `none of ${sources.join(', ')} exists here` };
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const taken = [];
  let total = 0;
  for (const src of present) {
    const bytes = duBytes(src);
    const dest = path.join(tmp, src);
    if (total + bytes <= capBytes) {
      log(`system corpus: cp -a ${src} (${(bytes / 1e6).toFixed(0)} MB)`);
      copyTree(src, dest);
      taken.push({ source: src, bytes, whole: true });
      total += bytes;
      continue;
    }
    // Only part of this source fits: its entries in name order, each whole, while they fit.
    const entry = { source: src, bytes: 0, whole: false, leftOut: [] };
    fs.mkdirSync(dest, { recursive: true });
    for (const n of fs.readdirSync(src).sort()) {
      const b = duBytes(path.join(src, n));
      if (total + b > capBytes) {
        entry.leftOut.push(n);
        continue;
      }
      copyTree(path.join(src, n), path.join(dest, n));
      entry.bytes += b;
      total += b;
    }
    log(`system corpus: ${src}: ${entry.leftOut.length} entries left out (cap ${(capBytes / 1e6).toFixed(0)} MB)`);
    taken.push(entry);
  }
  const removedSpecial = removeSpecialFiles(tmp);
  fs.renameSync(tmp, dir);
  const manifest = { sources: taken, capBytes, removedSpecial, made: new Date().toISOString(), ...treeStats(dir) };
  fs.writeFileSync(`${dir}.json`, JSON.stringify(manifest, null, 2) + '\n');
  return { dir, name, ...manifest };
}

/**
 * `count` files of `mb` MiB each of incompressible bytes (each 1 MiB block
 * stamped with its index so none repeat), for checksum throughput.
 */
function ensureLargeFiles({ cacheDir, count = 4, mb = 256 }) {
  const dir = path.join(cacheDir, `large-v1-${count}x${mb}m`);
  const files = Array.from({ length: count }, (_, i) => path.join(dir, `f${i}`));
  if (fs.existsSync(`${dir}.json`)) return { dir, files, bytes: count * mb * 1048576 };
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const r = rng(0x1a26e);
  const block = Buffer.allocUnsafe(1 << 20);
  const u32 = new Uint32Array(block.buffer, block.byteOffset, block.length / 4);
  for (let i = 0; i < u32.length; i++) u32[i] = (r.next() * 4294967296) >>> 0;
  files.forEach((f, n) => {
    const fd = fs.openSync(f, 'w', 0o644);
    try {
      for (let b = 0; b < mb; b++) {
        block.writeUInt32LE(n, 0);
        block.writeUInt32LE(b, 4);
        fs.writeSync(fd, block);
      }
    } finally {
      fs.closeSync(fd);
    }
  });
  fs.writeFileSync(`${dir}.json`, JSON.stringify({ count, mb }) + '\n');
  return { dir, files, bytes: count * mb * 1048576 };
}

module.exports = { ensureDebian, ensureSystemCopy, SYSTEM_SOURCES, ensureLargeFiles, finishDebian, treeStats, aptMirror, removeSpecialFiles };
