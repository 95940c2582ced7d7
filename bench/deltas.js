'use strict';
// Static-delta scenarios of the bench (see bench/README.md, "Static deltas"):
// generate from→to and from scratch, apply-offline of both, and an HTTP pull of
// the same update by delta and by objects. run.js passes its helpers in (`h`),
// so these run under the same runner: alternation, medians, GNU time.

const fs = require('node:fs');
const path = require('node:path');
const { rng } = require('./gen-tree');

const UPDATE_SEED = 0xde17a;
/** Files of at least this size count as "large binaries" for the update. */
const LARGE = 1 << 20;

/**
 * A realistic update as an overlay for `commit --tree=ref=main --tree=dir=OVERLAY`,
 * deterministic for a corpus: ~5% of the regular files below 1 MiB changed (40% get a line
 * appended, 40% a few bytes rewritten in place, 20% new content of about the same size),
 * up to 3 of the largest files of 1 MiB or more changed by 8 bytes in place (same size:
 * what bsdiff is for), and 20 new files. Modes are kept, so only the touched files and
 * their parents' dirtrees change.
 */
function makeUpdateOverlay(corpusDir, overlay, regularFiles, rmrf) {
  rmrf(overlay);
  fs.mkdirSync(overlay, { recursive: true });
  const r = rng(UPDATE_SEED);
  const files = regularFiles(corpusDir).map((rel) => ({ rel, size: fs.statSync(path.join(corpusDir, rel)).size }));
  const large = files.filter((f) => f.size >= LARGE).sort((a, b) => b.size - a.size || (a.rel < b.rel ? -1 : 1)).slice(0, 3);
  const picked = new Set(large.map((f) => f.rel));
  const change = { changed: 0, appended: 0, patched: 0, replaced: 0, large: large.length, largeBytes: 0, added: 20, bytes: 0 };
  const place = (rel) => {
    const parts = rel.split('/');
    for (let d = 1; d < parts.length; d++) {
      const sub = parts.slice(0, d).join('/');
      const od = path.join(overlay, sub);
      if (!fs.existsSync(od)) {
        fs.mkdirSync(od);
        fs.chmodSync(od, fs.statSync(path.join(corpusDir, sub)).mode & 0o7777);
      }
    }
  };
  const write = (rel, data) => {
    place(rel);
    const dst = path.join(overlay, rel);
    fs.writeFileSync(dst, data);
    fs.chmodSync(dst, fs.statSync(path.join(corpusDir, rel)).mode & 0o7777);
    change.changed++;
    change.bytes += data.length;
  };
  for (const f of large) {
    const data = fs.readFileSync(path.join(corpusDir, f.rel));
    for (let k = 0; k < 8; k++) data[r.int(data.length)] ^= 0x5a;
    write(f.rel, data);
    change.largeBytes += data.length;
  }
  for (const f of files) {
    if (picked.has(f.rel) || f.size >= LARGE || r.next() >= 0.05) continue;
    const kind = r.next();
    let data = fs.readFileSync(path.join(corpusDir, f.rel));
    if (kind < 0.4 || data.length < 16) {
      data = Buffer.concat([data, Buffer.from(`\nbench update ${change.changed}\n`)]);
      change.appended++;
    } else if (kind < 0.8) {
      for (let k = 0; k < 4; k++) data[r.int(data.length)] ^= 0x21;
      change.patched++;
    } else {
      const fresh = Buffer.allocUnsafe(data.length);
      for (let i = 0; i < fresh.length; i++) fresh[i] = 32 + r.int(95);
      data = fresh;
      change.replaced++;
    }
    write(f.rel, data);
  }
  const added = path.join(overlay, 'bench-update-new');
  fs.mkdirSync(added);
  for (let i = 0; i < 20; i++) {
    const data = Buffer.from(`new file ${i}\n`.repeat(((i * 397) % 8 + 1) * 80));
    fs.writeFileSync(path.join(added, `new-${i}.txt`), data);
    change.bytes += data.length;
  }
  return change;
}

/** Delta directories under repo/deltas (relative names), sorted. */
function deltaDirs(repo) {
  const root = path.join(repo, 'deltas');
  if (!fs.existsSync(root)) return [];
  const out = [];
  for (const a of fs.readdirSync(root).sort()) {
    for (const b of fs.readdirSync(path.join(root, a)).sort()) out.push(`${a}/${b}`);
  }
  return out;
}

/** Part count, total bytes and the largest part of one delta directory. */
function deltaFacts(dir) {
  const f = { superblock: 0, parts: 0, partBytes: 0, largestPart: 0, total: 0 };
  for (const name of fs.readdirSync(dir)) {
    const size = fs.statSync(path.join(dir, name)).size;
    f.total += size;
    if (name === 'superblock') f.superblock = size;
    else if (/^\d+$/.test(name)) {
      f.parts++;
      f.partBytes += size;
      f.largestPart = Math.max(f.largestPart, size);
    }
  }
  return f;
}

/** Largest uncompressed part size from `static-delta show` (ostree's own words). */
function largestUncompressed(showText) {
  let max = 0;
  let sum = 0;
  for (const m of showText.matchAll(/^PartMeta\d+: nobjects=\d+ size=(\d+) usize=(\d+)$/gm)) {
    max = Math.max(max, Number(m[2]));
    sum += Number(m[2]);
  }
  return { max, sum };
}

function deltaScenarios(h) {
  const { sh, tools, refTool, contenders, runSides, discard, initRepo, log, rmrf, readRef, regularFiles, startServer, stopServer, objectSet } = h;
  const ref = (...args) => {
    const [cmd, ...rest] = refTool()(...args);
    return sh(cmd, rest);
  };

  /**
   * Built once per corpus (untimed), by the reference tool: `delta-base`, an archive
   * repo with commit 1 (the corpus) and commit 2 (the update) and no deltas, which every
   * generate run copies (cp -al; generate only adds deltas/); `delta-served`, a copy
   * holding ostree's from→to delta, its from-scratch delta (--max-chunk-size, several
   * parts) and a summary listing them, served over HTTP; and `delta-client`, a bare-user
   * repo at commit 1 with origin pointing at delta-served (the base of the apply and
   * pull runs, copied with cp -a per run).
   */
  function setup(cw, opts) {
    if (cw.delta) return cw.delta;
    if (cw.deltaError) throw cw.deltaError;
    try {
      cw.delta = setupOnce(cw, opts);
      return cw.delta;
    } catch (e) {
      cw.deltaError = e;
      throw e;
    }
  }

  function setupOnce(cw, opts) {
    const input = cw.input('archive');
    const base = path.join(cw.dir, 'delta-base');
    rmrf(base);
    sh('cp', ['-al', input, base]);
    rmrf(path.join(base, 'refs'));
    sh('cp', ['-a', path.join(input, 'refs'), path.join(base, 'refs')]);
    const commit1 = readRef(base, 'heads/main');
    const overlay = path.join(cw.dir, 'delta-overlay');
    log(`  [setup] delta: update overlay and commit 2 for ${cw.corpus.name}`);
    const change = makeUpdateOverlay(cw.corpus.dir, overlay, regularFiles, rmrf);
    const commit2 = ref(`--repo=${base}`, 'commit', '-b', 'main', '-s', 'bench update', '--timestamp=@1700000200', '--tree=ref=main', `--tree=dir=${overlay}`).trim();
    if (readRef(base, 'heads/main') !== commit2 || commit1 === commit2) throw new Error(`delta setup: main is ${readRef(base, 'heads/main')}, want ${commit2}`);

    const served = path.join(cw.dir, 'delta-served');
    rmrf(served);
    fs.mkdirSync(served);
    const src = path.join(served, 'repo');
    sh('cp', ['-al', base, src]);
    rmrf(path.join(src, 'refs'));
    sh('cp', ['-a', path.join(base, 'refs'), path.join(src, 'refs')]);
    log(`  [setup] delta: reference deltas, no fallbacks (from→to, and --empty with --max-chunk-size=${opts.deltaChunkMb})`);
    const before = new Set(deltaDirs(src));
    // --min-fallback-size=0: no fallback objects, which apply-offline refuses ("contains nonempty
    // http fallback entries"); by default the update's one changed 5.6 MB file that ostree
    // does not pair with its old version would be one.
    ref(`--repo=${src}`, 'static-delta', 'generate', '--min-fallback-size=0', `--from=${commit1}`, `--to=${commit2}`);
    const fromTo = deltaDirs(src).filter((d) => !before.has(d));
    ref(`--repo=${src}`, 'static-delta', 'generate', '--min-fallback-size=0', '--empty', `--to=${commit2}`, `--max-chunk-size=${opts.deltaChunkMb}`);
    const empty = deltaDirs(src).filter((d) => !before.has(d) && !fromTo.includes(d));
    if (fromTo.length !== 1 || empty.length !== 1) throw new Error(`delta setup: found deltas ${JSON.stringify({ fromTo, empty })}`);
    ref(`--repo=${src}`, 'summary', '-u');
    const deltaFromTo = path.join(src, 'deltas', fromTo[0]);
    const deltaEmpty = path.join(src, 'deltas', empty[0]);
    const facts = {
      fromTo: { ...deltaFacts(deltaFromTo), ...pick(largestUncompressed(ref(`--repo=${src}`, 'static-delta', 'show', `${commit1}-${commit2}`))) },
      empty: { ...deltaFacts(deltaEmpty), ...pick(largestUncompressed(ref(`--repo=${src}`, 'static-delta', 'show', commit2))) },
    };

    const server = startServer(served, path.join(cw.dir, 'delta-httpd.log'));
    cw.onClose(() => stopServer(server));
    const client = path.join(cw.dir, 'delta-client');
    log('  [setup] delta: bare-user client at commit 1 (untimed pull, also warms the server)');
    initRepo(refTool(), client, 'bare-user');
    ref(`--repo=${client}`, 'remote', 'add', '--no-gpg-verify', 'origin', `${server.url}/repo`);
    ref(`--repo=${client}`, 'pull', '--disable-static-deltas', 'origin', `main@${commit1}`);
    if (readRef(client, 'remotes/origin/main') !== commit1) throw new Error(`delta setup: client has origin:main ${readRef(client, 'remotes/origin/main')}, want ${commit1}`);
    return { base, commit1, commit2, change, deltaFromTo, deltaEmpty, facts, client };
  }

  const pick = ({ max, sum }) => ({ largestUncompressed: max, uncompressed: sum });
  const hasCommit = (repo, c) => fs.existsSync(path.join(repo, 'objects', c.slice(0, 2), `${c.slice(2)}.commit`));

  /** generate from→to (or --empty) into a cp -al copy of delta-base; what each side made is recorded. */
  function generate(cw, runs, opts, { empty }) {
    const d = setup(cw, opts);
    const made = {};
    const range = empty ? ['--empty', `--to=${d.commit2}`] : [`--from=${d.commit1}`, `--to=${d.commit2}`];
    const sides = contenders().map((label) => ({
      label,
      prepare: (i) => {
        const repo = path.join(cw.dir, `delta-gen-${label}-${i}`);
        rmrf(repo);
        sh('cp', ['-al', d.base, repo]);
        return { repo };
      },
      argv: ({ repo }) => tools[label](`--repo=${repo}`, 'static-delta', 'generate', ...range),
      after: ({ repo }) => {
        const dirs = deltaDirs(repo);
        if (dirs.length !== 1) throw new Error(`${label} generate left ${dirs.length} deltas`);
        made[label] = deltaFacts(path.join(repo, 'deltas', dirs[0]));
        discard(repo);
      },
    }));
    return { sides: runSides(sides, runs), delta: made };
  }

  /** apply-offline of ostree's delta into a cp -a copy of the client (from→to) or a fresh bare-user repo (--empty). */
  function apply(cw, runs, opts, { empty }) {
    const d = setup(cw, opts);
    const delta = empty ? d.deltaEmpty : d.deltaFromTo;
    const check = { expected: d.commit2, objects: {}, mismatches: [] };
    const sides = contenders().map((label) => ({
      label,
      prepare: (i) => {
        const repo = path.join(cw.dir, `delta-apply-${label}-${i}`);
        rmrf(repo);
        if (empty) initRepo(tools[label], repo, 'bare-user');
        else sh('cp', ['-a', d.client, repo]);
        return { repo };
      },
      argv: ({ repo }) => tools[label](`--repo=${repo}`, 'static-delta', 'apply-offline', delta),
      after: ({ repo }, _m, i) => {
        if (!hasCommit(repo, d.commit2)) {
          const msg = `${label} run ${i}: commit ${d.commit2} missing after apply-offline`;
          log(`  !!! APPLY MISMATCH: ${msg}`);
          check.mismatches.push(msg);
        }
        if (i === runs - 1) check.objects[label] = objectSet(repo);
        discard(repo, cw.corpus.bytes);
      },
    }));
    const res = runSides(sides, runs);
    const o = check.objects;
    check.sameObjects = o.ours && o.ostree ? o.ours.digest === o.ostree.digest : null;
    check.sameRefTarget = check.mismatches.length === 0;
    check.refs = {};
    return { sides: res, check, deltaFacts: empty ? d.facts.empty : d.facts.fromTo, change: d.change };
  }

  /** pull origin main (commit 1 → 2) into a cp -a copy of the client, by delta or by objects. */
  function pull(cw, runs, opts, { byDelta }) {
    const d = setup(cw, opts);
    const flag = byDelta ? '--require-static-deltas' : '--disable-static-deltas';
    const check = { expected: d.commit2, refs: {}, objects: {}, mismatches: [] };
    const sides = contenders().map((label) => ({
      label,
      prepare: (i) => {
        const repo = path.join(cw.dir, `delta-pull-${label}-${i}`);
        rmrf(repo);
        sh('cp', ['-a', d.client, repo]);
        return { repo };
      },
      argv: ({ repo }) => tools[label](`--repo=${repo}`, 'pull', flag, 'origin', 'main'),
      after: ({ repo }, _m, i) => {
        const got = readRef(repo, 'remotes/origin/main');
        const partial = fs.existsSync(path.join(repo, 'state', `${d.commit2}.commitpartial`));
        if (got !== d.commit2 || partial) {
          const msg = `${label} run ${i}: origin:main = ${got} (want ${d.commit2})${partial ? ', commit still partial' : ''}`;
          log(`  !!! PULL MISMATCH: ${msg}`);
          check.mismatches.push(msg);
        }
        check.refs[label] = got;
        if (i === runs - 1) check.objects[label] = objectSet(repo);
        discard(repo, cw.corpus.bytes);
      },
    }));
    const res = runSides(sides, runs);
    const o = check.objects;
    check.sameObjects = o.ours && o.ostree ? o.ours.digest === o.ostree.digest : null;
    check.sameRefTarget = check.mismatches.length === 0 && Object.values(check.refs).every((r) => r === d.commit2);
    return { sides: res, check, deltaFacts: byDelta ? d.facts.fromTo : undefined, change: d.change };
  }

  return {
    'delta-generate': (cw, runs, opts) => generate(cw, runs, opts, { empty: false }),
    'delta-generate-empty': (cw, runs, opts) => generate(cw, runs, opts, { empty: true }),
    'delta-apply': (cw, runs, opts) => apply(cw, runs, opts, { empty: false }),
    'delta-apply-empty': (cw, runs, opts) => apply(cw, runs, opts, { empty: true }),
    'delta-pull': (cw, runs, opts) => pull(cw, runs, opts, { byDelta: true }),
    'delta-pull-objects': (cw, runs, opts) => pull(cw, runs, opts, { byDelta: false }),
  };
}

/** Scenario table rows: name, per-corpus, target, what it measures. */
const DELTA_SCENARIOS = [
  ['delta-generate', true, 0.5, 'static-delta generate --from=C1 --to=C2 (the update: ~5% of files, 3 large files by 8 bytes) in an archive repo'],
  ['delta-generate-empty', true, 0.5, 'static-delta generate --empty --to=C2 in an archive repo'],
  ['delta-apply', true, 0.6, "static-delta apply-offline of ostree's C1→C2 delta into a bare-user repo at C1"],
  ['delta-apply-empty', true, null, "static-delta apply-offline of ostree's --empty delta (several parts) into a fresh bare-user repo: peak RSS vs part size"],
  ['delta-pull', true, 0.6, 'pull --require-static-deltas origin main (C1→C2) over HTTP into a bare-user repo at C1'],
  ['delta-pull-objects', true, null, 'the same update by objects: pull --disable-static-deltas'],
];

module.exports = { deltaScenarios, DELTA_SCENARIOS, makeUpdateOverlay, deltaFacts };
