// checkout --skip-list FILE: the listed paths are left out, matched as ostree
// matches them (files as '/a/b', directories as '/a/b/' with all below).
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok } from './helpers/interop';

afterAll(cleanupTmp);

function listTree(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const n of readdirSync(path.join(dir, rel)).sort()) {
    const r = `${rel}/${n}`;
    out.push(r);
    if (statSync(path.join(dir, r)).isDirectory()) out.push(...listTree(dir, r));
  }
  return out;
}

describe.skipIf(SKIP_INTEROP)('checkout --skip-list', () => {
  it('skips what ostree skips', () => {
    const d = tmpdir();
    for (const f of ['baz/saucer', 'baz/cow', 'yet/another/tree/green', 'top']) {
      mkdirSync(path.dirname(`${d}/t/${f}`), { recursive: true });
      writeFileSync(`${d}/t/${f}`, f);
    }
    ok(ostree(['init', `--repo=${d}/r`, '--mode=archive']));
    ok(ostree(['commit', `--repo=${d}/r`, '-b', 'x', `${d}/t`]));
    let n = 0;
    for (const list of ['/baz/saucer\n/yet/another/tree\n', '/yet/another/tree/\n', '/baz/\n/top\n\n', 'baz\n']) {
      writeFileSync(`${d}/skip`, list);
      const [a, b] = [ostree, ours].map((run) => {
        const dest = `${d}/co-${++n}`;
        ok(run(['checkout', `--repo=${d}/r`, '--skip-list', `${d}/skip`, 'x', dest]));
        return listTree(dest);
      });
      expect(b, JSON.stringify(list)).toEqual(a);
    }
  });
});
