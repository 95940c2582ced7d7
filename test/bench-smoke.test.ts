// The benchmark harness works (no timings are asserted: speed lives in bench/).
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { readdirSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import { tmpdir, cleanupTmp, ROOT, HAVE_OSTREE } from './helpers/interop';

const requireCjs = createRequire(import.meta.url);
const { generateTree } = requireCjs('../bench/gen-tree.js') as {
  generateTree(dir: string, o: { files: number; seed: string | number }): { files: number; symlinks: number; bytes: number };
};

/** Every entry under root: path, type, mode, size, and a hash of its bytes or link target. */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(root, r);
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`d ${mode} ${r}`);
        walk(r);
      } else if (st.isSymbolicLink()) {
        out.push(`l ${r} -> ${readlinkSync(p)}`);
      } else {
        out.push(`f ${mode} ${st.size} ${createHash('sha256').update(readFileSync(p)).digest('hex')} ${r}`);
      }
    }
  };
  walk('');
  return out;
}

afterAll(cleanupTmp);

describe('bench/gen-tree.js', () => {
  it('gives identical trees for the same seed and a different one for another seed', () => {
    const base = tmpdir('node-ostree-gen-');
    const a = generateTree(path.join(base, 'a'), { files: 200, seed: 7 });
    generateTree(path.join(base, 'b'), { files: 200, seed: 7 });
    generateTree(path.join(base, 'c'), { files: 200, seed: 8 });
    const la = listing(path.join(base, 'a'));
    expect(a.files).toBe(200);
    expect(la.filter((l) => l.startsWith('f ')).length).toBe(200);
    expect(la.some((l) => l.startsWith('l '))).toBe(true);
    expect(la.some((l) => l.startsWith('f 644 0 '))).toBe(true); // an empty file
    expect(listing(path.join(base, 'b'))).toEqual(la);
    expect(listing(path.join(base, 'c'))).not.toEqual(la);
  });
});

describe('bench/run.js', () => {
  it('--only startup --runs 1 --json prints a report with the environment and medians', () => {
    const work = tmpdir('node-ostree-bench-');
    const r = spawnSync(
      process.execPath,
      ['bench/run.js', '--only', 'startup', '--runs', '1', '--json', '--work', work, '--cache', work, '--out', path.join(work, 'out.json')],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(r.stderr).not.toMatch(/failed|bench:/);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toEqual(JSON.parse(readFileSync(path.join(work, 'out.json'), 'utf8')));
    expect(report.env.machine.cores).toBeGreaterThan(0);
    expect(typeof report.env.machine.cpu).toBe('string');
    expect(report.env.machine.memoryBytes).toBeGreaterThan(0);
    expect(typeof report.env.kernel).toBe('string');
    expect(report.env.filesystem).toHaveProperty('statType');
    expect(report.env.node).toBe(process.version);
    expect(report.env.git).toHaveProperty('commit');
    expect(report.env).toHaveProperty('ostree');
    const [startup] = report.results;
    expect(startup).toMatchObject({ scenario: 'startup', status: 'ok', runs: 1 });
    const sides = HAVE_OSTREE ? ['ours', 'ostree', 'node'] : ['ours', 'node'];
    expect(Object.keys(startup.sides).sort()).toEqual(sides.sort());
    for (const s of sides) {
      expect(startup.sides[s].runs).toHaveLength(1);
      expect(startup.sides[s].median.wall).toBeGreaterThan(0);
      expect(startup.sides[s].median).toHaveProperty('cpu');
      expect(startup.sides[s].median).toHaveProperty('rss');
    }
    expect(startup.vsNode.wall).toBeGreaterThan(0);
    if (HAVE_OSTREE) expect(startup.ratio.wall).toBeGreaterThan(0);
  });
});

describe('bench/run.js pull scenarios', () => {
  it('pull-http and pull-http-incremental run over a loopback server and end on the same commit on every side', () => {
    const work = tmpdir('node-ostree-bench-pull-');
    const r = spawnSync(
      process.execPath,
      ['bench/run.js', '--only', 'pull', '--corpus', 'synth', '--files', '200', '--runs', '1', '--settle', '0', '--json', '--work', work, '--cache', work, '--out', path.join(work, 'out.json')],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(r.stderr).not.toMatch(/failed|bench:|MISMATCH/);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    const sides = HAVE_OSTREE ? ['ostree', 'ours'] : ['ours'];
    expect(report.results.map((x: { scenario: string }) => x.scenario)).toEqual(['pull-http', 'pull-http-incremental']);
    const expected: string[] = [];
    for (const res of report.results) {
      expect(res).toMatchObject({ status: 'ok', runs: 1 });
      expect(Object.keys(res.sides).sort()).toEqual(sides);
      expect(res.check.expected).toMatch(/^[0-9a-f]{64}$/);
      expect(res.check.mismatches).toEqual([]);
      expect(res.check.sameRefTarget).toBe(true);
      for (const s of sides) expect(res.check.refs[s]).toBe(res.check.expected);
      if (HAVE_OSTREE) expect(res.check.sameObjects).toBe(true);
      expected.push(res.check.expected);
    }
    // The incremental pull brings a different (next) commit.
    expect(expected[1]).not.toBe(expected[0]);
    expect(report.results[1].change.changed).toBeGreaterThan(0);
  });
});
