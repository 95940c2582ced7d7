#!/usr/bin/env node
'use strict';
// Seeded synthetic file tree for benchmarks.
//
//   node bench/gen-tree.js --files 100000 [--seed 1] [--out DIR | --cache DIR]
//
// The same (seed, files) always gives the same tree: names, directory shape,
// sizes, modes, symlink targets and bytes. The mix imitates an OS tree:
//   regular files  2% empty, 62% 1 B–4 KiB, 30% 4–32 KiB, ~6% 32–256 KiB,
//                  plus max(2, files/4000) large files of 1–16 MiB;
//                  ~1% are byte-identical copies of an earlier file;
//                  10% mode 0755, 1% 0600, the rest 0644;
//   content        text-like (compresses ~3x), binary-like (~1.5x) or random
//                  (incompressible), chosen by file extension;
//   directories    ~files/12, clustered so some chains get deep (capped at
//                  depth 12) plus one 48-level chain; max(2, files/5000) empty;
//   symlinks       ~3% of files: relative to files elsewhere, absolute, dangling.
// Average regular file ≈ 12 KiB: 10k files ≈ 120 MB, 100k ≈ 1.2 GB.
//
// Writing is plain sequential writeFileSync with no fsync: the tree is a
// cache, regenerated if its manifest is missing.

const fs = require('node:fs');
const path = require('node:path');

/** Bump when the layout or content rules change: it is part of the cache key. */
const GENERATOR_VERSION = 1;
const POOL_SIZE = 4 << 20;

/** mulberry32: small, fast, good enough for layout decisions. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    /** log-uniform integer in [lo, hi] */
    logUniform: (lo, hi) => Math.floor(Math.exp(Math.log(lo) + next() * (Math.log(hi + 1) - Math.log(lo)))),
  };
}

/** Seeds may be any string; hash it to 32 bits (FNV-1a). */
function seedOf(seed) {
  const s = String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const SYLLABLES = ['ba', 'co', 'de', 'fi', 'gu', 'ha', 'ji', 'ka', 'lo', 'mu', 'ne', 'po', 'qui', 'ra', 'si', 'tu', 'vo', 'xa', 'ze', 'lib', 'sys', 'net', 'io', 'ctl', 'conf'];
const TEXT_EXT = ['.txt', '.conf', '.py', '.h', '.c', '.md', '.json', '.xml', '.html', '.sh', '.pl', ''];
const BIN_EXT = ['.so', '.bin', '.o', '.mo', '.cache', ''];
const RAND_EXT = ['.gz', '.png', '.xz', '.zst', '.jpg'];

function word(r) {
  const n = 1 + r.int(3);
  let w = '';
  for (let i = 0; i < n; i++) w += r.pick(SYLLABLES);
  return w;
}

/** Three 4 MiB byte pools that file contents are sliced from. */
function makePools(seed) {
  const r = rng(seed ^ 0x5eed);
  const random = Buffer.allocUnsafe(POOL_SIZE);
  const u32 = new Uint32Array(random.buffer, random.byteOffset, POOL_SIZE / 4);
  for (let i = 0; i < u32.length; i++) u32[i] = (r.next() * 4294967296) >>> 0;
  // Binary-like: runs of zeros and small values between random bytes (~1.5x with zlib).
  const binary = Buffer.allocUnsafe(POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i++) {
    const x = random[(i * 7 + 3) % POOL_SIZE];
    binary[i] = x < 90 ? 0 : x < 140 ? x & 0x0f : x;
  }
  // Text-like: words from a 2000-word vocabulary, lines of 40–100 characters.
  const vocab = [];
  for (let i = 0; i < 2000; i++) vocab.push(word(r));
  const parts = [];
  let len = 0;
  let line = 0;
  while (len < POOL_SIZE) {
    const w = vocab[Math.floor(Math.pow(r.next(), 2) * vocab.length)];
    const sep = line + w.length > 40 + r.int(60) ? '\n' : ' ';
    line = sep === '\n' ? 0 : line + w.length + 1;
    parts.push(w, sep);
    len += w.length + 1;
  }
  const text = Buffer.from(parts.join('').slice(0, POOL_SIZE), 'latin1');
  return { text, binary, random };
}

/**
 * Plan the tree without touching the disk. Returns {dirs, files, symlinks}
 * with paths relative to the root; `dirs` is in creation order (parents first).
 */
function planTree(nfiles, seed) {
  const r = rng(seedOf(seed));
  const dirs = [{ path: '', depth: 0, names: new Set() }];
  const uniqueName = (dir, base, ext) => {
    let name = base + ext;
    for (let k = 1; dir.names.has(name); k++) name = `${base}-${k}${ext}`;
    dir.names.add(name);
    return name;
  };
  const addDir = (parent, base) => {
    const name = uniqueName(parent, base, '');
    const d = { path: parent.path ? `${parent.path}/${name}` : name, depth: parent.depth + 1, names: new Set() };
    dirs.push(d);
    return d;
  };
  for (const top of ['usr', 'etc', 'var', 'opt', 'srv']) addDir(dirs[0], top);
  const ndirs = Math.max(8, Math.round(nfiles / 12));
  while (dirs.length < ndirs) {
    let parent = r.next() < 0.6 ? dirs[Math.max(1, dirs.length - 1 - r.int(20))] : dirs[1 + r.int(dirs.length - 1)];
    if (parent.depth >= 12) parent = dirs[1 + r.int(5)];
    addDir(parent, word(r));
  }
  const fileDirs = dirs.length;
  // One deep chain, and a few empty directories.
  let deep = addDir(dirs[0], 'deep');
  for (let i = 1; i < 48; i++) deep = addDir(deep, `d${i}`);
  const nempty = Math.max(2, Math.round(nfiles / 5000));
  for (let i = 0; i < nempty; i++) addDir(dirs[r.int(fileDirs)], `empty-${word(r)}`).empty = true;

  const nlarge = Math.max(2, Math.round(nfiles / 4000));
  const largeEvery = Math.floor(nfiles / nlarge);
  const files = [];
  for (let i = 0; i < nfiles; i++) {
    // Zipf-like: directories created early (near the top) hold more files;
    // the root and the five top-level directories hold none.
    const dir = i === nfiles - 1 ? deep : dirs[6 + Math.floor(Math.pow(r.next(), 1.5) * (fileDirs - 6))];
    const p = r.next();
    let kind;
    let size;
    if (i % largeEvery === largeEvery - 1 && files.filter((f) => f.large).length < nlarge) {
      size = r.logUniform(1 << 20, 16 << 20);
      kind = r.next() < 0.5 ? 'random' : 'binary';
    } else {
      size = p < 0.02 ? 0 : p < 0.64 ? r.logUniform(1, 4096) : p < 0.94 ? r.logUniform(4096, 32768) : r.logUniform(32768, 262144);
      const k = r.next();
      kind = k < 0.5 ? 'text' : k < 0.85 ? 'binary' : 'random';
    }
    const ext = r.pick(kind === 'text' ? TEXT_EXT : kind === 'binary' ? BIN_EXT : RAND_EXT);
    const m = r.next();
    const mode = m < 0.1 ? 0o755 : m < 0.11 ? 0o600 : 0o644;
    const name = uniqueName(dir, word(r), ext);
    const f = { path: dir.path ? `${dir.path}/${name}` : name, size, mode, kind, offset: r.int(POOL_SIZE), id: i, large: size >= 1 << 20 };
    // ~1% duplicates of an earlier small file (same bytes, same size).
    if (i > 10 && !f.large && r.next() < 0.01) {
      const src = files[r.int(files.length)];
      if (!src.large) Object.assign(f, { size: src.size, kind: src.kind, offset: src.offset, id: src.id });
    }
    files.push(f);
  }

  const symlinks = [];
  const nlinks = Math.round(nfiles * 0.03);
  for (let i = 0; i < nlinks; i++) {
    const dir = dirs[r.int(fileDirs)];
    const name = uniqueName(dir, word(r), '.lnk');
    const linkPath = dir.path ? `${dir.path}/${name}` : name;
    const t = r.next();
    let target;
    if (t < 0.7) {
      const dest = r.next() < 0.8 ? r.pick(files).path : dirs[1 + r.int(fileDirs - 1)].path;
      target = path.posix.relative(dir.path || '.', dest) || '.';
    } else if (t < 0.9) {
      target = `/usr/lib/${word(r)}/${word(r)}.so.${r.int(9)}`;
    } else {
      target = `../missing-${word(r)}`;
    }
    symlinks.push({ path: linkPath, target });
  }
  return { dirs: dirs.map(({ path: p, empty }) => ({ path: p, empty: !!empty })), files, symlinks };
}

/** Write the planned tree under `root` (which must not exist yet). Returns stats. */
function writeTree(root, plan, seed) {
  const pools = makePools(seedOf(seed));
  fs.mkdirSync(root, { recursive: true });
  for (const d of plan.dirs) if (d.path) fs.mkdirSync(path.join(root, d.path), { mode: 0o755 });
  const umask = process.umask();
  let bytes = 0;
  const chunk = Buffer.allocUnsafe(1 << 20);
  for (const f of plan.files) {
    const pool = pools[f.kind];
    const header = Buffer.from(`node-ostree bench ${seed} #${f.id}\n`);
    const full = path.join(root, f.path);
    if (f.size <= chunk.length) {
      const n = Math.min(header.length, f.size);
      header.copy(chunk, 0, 0, n);
      fillFromPool(chunk, n, f.size, pool, f.offset);
      fs.writeFileSync(full, chunk.subarray(0, f.size), { mode: f.mode });
    } else {
      // Large: 1 MiB blocks, each stamped with its block number so no two repeat.
      const fd = fs.openSync(full, 'w', f.mode);
      try {
        for (let pos = 0, blk = 0; pos < f.size; pos += chunk.length, blk++) {
          const len = Math.min(chunk.length, f.size - pos);
          const stamp = Buffer.from(`${header.toString().trim()} block ${blk}\n`);
          stamp.copy(chunk, 0, 0, Math.min(stamp.length, len));
          fillFromPool(chunk, Math.min(stamp.length, len), len, pool, (f.offset + blk * 7919) % POOL_SIZE);
          fs.writeSync(fd, chunk, 0, len);
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    if ((f.mode & ~umask) !== f.mode) fs.chmodSync(full, f.mode);
    bytes += f.size;
  }
  for (const s of plan.symlinks) fs.symlinkSync(s.target, path.join(root, s.path));
  return {
    files: plan.files.length,
    dirs: plan.dirs.length - 1,
    emptyDirs: plan.dirs.filter((d) => d.empty).length,
    symlinks: plan.symlinks.length,
    bytes,
    largeFiles: plan.files.filter((f) => f.large).length,
  };
}

function fillFromPool(buf, start, end, pool, offset) {
  let pos = start;
  let off = offset % pool.length;
  while (pos < end) {
    const n = Math.min(end - pos, pool.length - off);
    pool.copy(buf, pos, off, off + n);
    pos += n;
    off = 0;
  }
}

/** Generate into `dir` (must not exist). */
function generateTree(dir, { files, seed = 1 }) {
  const t0 = process.hrtime.bigint();
  const stats = writeTree(dir, planTree(files, seed), seed);
  return { ...stats, seed: String(seed), generatorVersion: GENERATOR_VERSION, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/**
 * Return the path of a cached synthetic tree for (seed, files), generating it
 * first if needed. The manifest `<dir>.json` is written last and marks the
 * tree complete; a half-written tree from an interrupted run is discarded.
 */
function ensureSyntheticTree({ files, seed = 1, cacheDir }) {
  const name = `synth-v${GENERATOR_VERSION}-s${seed}-n${files}`;
  const dir = path.join(cacheDir, name);
  const manifest = `${dir}.json`;
  if (fs.existsSync(manifest) && fs.existsSync(dir)) return { dir, name, ...JSON.parse(fs.readFileSync(manifest, 'utf8')) };
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
  const stats = generateTree(tmp, { files, seed });
  fs.renameSync(tmp, dir);
  fs.writeFileSync(manifest, JSON.stringify(stats, null, 2) + '\n');
  return { dir, name, ...stats };
}

module.exports = { GENERATOR_VERSION, planTree, generateTree, ensureSyntheticTree, seedOf, rng };

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name, def) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : def;
  };
  const files = Number(opt('files', '10000'));
  const seed = opt('seed', '1');
  if (!Number.isInteger(files) || files < 1) {
    process.stderr.write('usage: node bench/gen-tree.js --files N [--seed S] [--out DIR | --cache DIR]\n');
    process.exit(2);
  }
  const out = opt('out');
  const res = out
    ? { dir: out, ...generateTree(out, { files, seed }) }
    : ensureSyntheticTree({ files, seed, cacheDir: opt('cache', path.join(__dirname, '.cache')) });
  process.stdout.write(JSON.stringify(res, null, 2) + '\n');
}
