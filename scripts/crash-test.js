#!/usr/bin/env node
// npm run crash-test [-- --points N] [--seed S] [--only a,b] [--keep] [--work DIR]
// Crash-consistency run (scripts/crash/harness.js): SIGKILLs admin deploy, commit, pull,
// pull-local, checkout, prune and static-delta apply-offline at seeded random
// points and checks the repository after each kill and after a rerun. Runs
// dist/ (npm run build first). Exit 1 when any kill point left an
// inconsistency; the failed runs' directories are kept for inspection.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { crashTest } = require('./crash/harness');

function parse(argv) {
  const o = { points: 400, seed: Date.now() % 100000, only: null, keep: false, work: null };
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = argv[i].includes('=') ? argv[i].split(/=(.*)/s) : [argv[i], argv[i + 1]];
    const take = () => (argv[i].includes('=') ? v : (i++, v));
    if (k === '--points') o.points = Number(take());
    else if (k === '--seed') o.seed = Number(take());
    else if (k === '--only') o.only = take().split(',');
    else if (k === '--work') o.work = take();
    else if (k === '--keep') o.keep = true;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  if (!(o.points > 0) || !Number.isInteger(o.seed)) throw new Error('--points must be > 0 and --seed an integer');
  return o;
}

(async () => {
  const o = parse(process.argv.slice(2));
  const work = o.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ostree-crash-'));
  console.log(`crash-test: ${o.points} kill points, seed ${o.seed}, in ${work}`);
  const t0 = Date.now();
  const r = await crashTest({ work, points: o.points, seed: o.seed, only: o.only, log: (l) => console.log(l) });
  console.log(`\n${r.tried} kill points tried (${r.internal} internal, ${r.delayed} by delay; ${r.killed} killed the operation), ${r.failures.length} failures, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  for (const f of r.failures) console.log(`FAIL ${f.scenario} at ${f.point}:\n  ${f.problems.join('\n  ')}`);
  if (!o.keep && !r.failures.length) fs.rmSync(work, { recursive: true, force: true });
  process.exit(r.failures.length ? 1 : 0);
})().catch((e) => {
  console.error(`crash-test: ${e.stack || e}`);
  process.exit(2);
});
