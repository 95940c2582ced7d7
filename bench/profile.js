#!/usr/bin/env node
'use strict';
// Where does our time go? Profiles one command of our CLI with `node --cpu-prof`
// and prints the functions with the most self time.
//
//   node bench/profile.js [--files 100000] [--seed 1] [--mode bare-user|archive]
//                         [--op commit|checkout|fsck] [--top 25]
//   node bench/profile.js --summarize FILE.cpuprofile [--top 25]
//
// Only JS-thread time is sampled: time spent in libuv pool threads (the native
// addon's workers, fs calls) shows up as "(idle)" on the main thread, or as
// the JS that waits for it. Compare with wall and CPU from /usr/bin/time
// (printed first) to see how much ran off the main thread.

const fs = require('node:fs');
const path = require('node:path');
const cp = require('node:child_process');
const { ensureSyntheticTree } = require('./gen-tree');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

/** Self time per function (ms), from the sample deltas, largest first. */
function summarize(file, top = 25) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const dt = (prof.timeDeltas[i] || 0) / 1000;
    total += dt;
    const cf = byId.get(id).callFrame;
    const where = cf.url ? `${cf.url.replace(`file://${ROOT}/`, '').replace(/^file:\/\//, '')}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'}\t${where}`;
    self.set(key, (self.get(key) || 0) + dt);
  });
  // Coarse buckets: our dist/ code, node internals, GC, idle/waiting, other.
  const buckets = {};
  for (const [k, ms] of self) {
    const [fn, where] = k.split('\t');
    const b = fn === '(idle)' ? 'idle (waiting on I/O / pool threads)'
      : fn === '(garbage collector)' ? 'garbage collector'
      : fn === '(program)' ? 'V8/native, not attributed'
      : where.startsWith('dist/') ? 'our JS (dist/)'
      : where.startsWith('node:') ? 'node internals (JS)'
      : !where ? 'node C++ bindings (fs, zlib…) on the JS thread'
      : 'other';
    buckets[b] = (buckets[b] || 0) + ms;
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  const pct = (ms) => `${((100 * ms) / total).toFixed(1)}%`.padStart(6);
  const lines = [`${path.basename(file)}: ${(total / 1000).toFixed(2)} s sampled on the JS thread`];
  for (const [b, ms] of Object.entries(buckets).sort((a, c) => c[1] - a[1])) lines.push(`  ${pct(ms)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${b}`);
  lines.push('  top self time:');
  for (const [k, ms] of rows) {
    const [fn, where] = k.split('\t');
    lines.push(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${fn}  ${where}`);
  }
  return lines.join('\n');
}

function main() {
  const args = process.argv.slice(2);
  const opt = (name, def) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : def;
  };
  const top = Number(opt('top', '25'));
  if (opt('summarize')) {
    process.stdout.write(`${summarize(opt('summarize'), top)}\n`);
    return;
  }
  const files = Number(opt('files', '100000'));
  const mode = opt('mode', 'bare-user');
  const op = opt('op', 'commit');
  const cacheDir = path.resolve(opt('cache', path.join(__dirname, '.cache')));
  const corpus = ensureSyntheticTree({ files, seed: opt('seed', '1'), cacheDir });
  const work = path.join(cacheDir, 'work', `profile-${process.pid}`);
  const repo = path.join(work, 'repo');
  const profDir = path.join(work, 'prof');
  fs.mkdirSync(profDir, { recursive: true });
  const run = (argv, extraNode = []) => {
    const r = cp.spawnSync('/usr/bin/time', ['-f', 'wall %e s, user %U s, sys %S s, max RSS %M kB', process.execPath, ...extraNode, CLI, ...argv], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    return r.stderr.trim().split('\n').pop();
  };
  try {
    run([`--repo=${repo}`, 'init', `--mode=${mode}`]);
    const commitArgs = [`--repo=${repo}`, 'commit', '-b', 'main', '-s', 'profile', `--tree=dir=${corpus.dir}`];
    let argv = commitArgs;
    if (op !== 'commit') {
      run(commitArgs);
      argv = op === 'checkout' ? [`--repo=${repo}`, 'checkout', '-U', 'main', path.join(work, 'co')] : [`--repo=${repo}`, op];
    }
    cp.spawnSync('sync');
    const timing = run(argv, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
    process.stdout.write(`${op} ${mode}, ${corpus.files} files (${(corpus.bytes / 1e6).toFixed(0)} MB), under --cpu-prof: ${timing}\n`);
    for (const f of fs.readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile'))) {
      const keep = path.join(__dirname, 'results', `profile-${op}-${mode}-${files}-${f}`);
      fs.mkdirSync(path.dirname(keep), { recursive: true });
      fs.copyFileSync(path.join(profDir, f), keep);
      process.stdout.write(`${summarize(keep, top)}\n(profile kept at ${path.relative(process.cwd(), keep)}; open it in Chrome DevTools)\n`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

module.exports = { summarize };

if (require.main === module) main();
