// The "dummy" signature type (ostree's test engine, OSTREE_DUMMY_SIGN_ENABLED=1)
// through every place ostree has it: `sign`, `commit --sign`, `summary --sign`
// and pulls with sign-verify / sign-verify-summary. Each side verifies what
// the other signed, and the messages are ostree's.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok, makeTree } from './helpers/interop';

afterAll(cleanupTmp);

const ON = { OSTREE_DUMMY_SIGN_ENABLED: '1' };
const OFF = { OSTREE_DUMMY_SIGN_ENABLED: '' };

describe.skipIf(SKIP_INTEROP)('dummy signatures (interop with ostree 2022.7)', () => {
  let d: string;
  let srv: string;
  beforeAll(() => {
    d = tmpdir();
    makeTree(path.join(d, 't'), 1);
    srv = path.join(d, 'srv');
    ok(ostree(['init', `--repo=${srv}`, '--mode=archive']));
  });
  const commit = (run: typeof ostree, extra: string[] = [], env = ON) =>
    run([`--repo=${srv}`, 'commit', '-b', 'main', '--timestamp=@1700000000', ...extra, path.join(d, 't')], { env });

  it('sign / sign --verify: each verifies the other, same output and errors', () => {
    const c = ok(commit(ostree, ['-s', 'one']));
    ok(ours([`--repo=${srv}`, 'sign', '--sign-type=dummy', c, 'ourkey'], { env: ON }));
    ok(ostree([`--repo=${srv}`, 'sign', '--sign-type=dummy', c, 'theirkey'], { env: ON }));
    for (const key of ['ourkey', 'theirkey', 'nosuchkey']) {
      const args = [`--repo=${srv}`, 'sign', '--sign-type=dummy', '--verify', c, key];
      const a = ostree(args, { env: ON });
      const b = ours(args, { env: ON });
      expect([b.status, b.stdout, b.stderr]).toEqual([a.status, a.stdout, a.stderr]);
    }
    expect(ok(ours([`--repo=${srv}`, 'show', '--print-detached-metadata-key=ostree.sign.dummy', c]))).toBe(
      ok(ostree([`--repo=${srv}`, 'show', '--print-detached-metadata-key=ostree.sign.dummy', c])),
    );
    // Without the test switch: signing and verifying are refused with ostree's words.
    for (const args of [
      ['sign', '--sign-type=dummy', c, 'k'],
      ['sign', '--sign-type=dummy', '--verify', c, 'ourkey'],
      ['sign', '--sign-type=bogus', c, 'k'],
    ]) {
      const a = ostree([`--repo=${srv}`, ...args], { env: OFF });
      const b = ours([`--repo=${srv}`, ...args], { env: OFF });
      expect([b.status, b.stderr], args.join(' ')).toEqual([a.status, a.stderr]);
    }
  });

  it('commit --sign and summary --sign with --sign-type=dummy store what ostree stores', () => {
    const mine = ok(commit(ours, ['-s', 'two', '--sign=k1', '--sign-type=dummy']));
    const md = (c: string) => ok(ostree([`--repo=${srv}`, 'show', '--print-detached-metadata-key=ostree.sign.dummy', c]));
    expect(md(mine)).toBe('[[byte 0x6b, 0x31]]');
    ok(ours([`--repo=${srv}`, 'summary', '-u', '--sign=s1', '--sign=s2', '--sign-type=dummy'], { env: ON }));
    const sigOurs = readFileSync(path.join(srv, 'summary.sig'));
    ok(ostree([`--repo=${srv}`, 'summary', '-u', '--sign=s1', '--sign=s2', '--sign-type=dummy'], { env: ON }));
    expect(sigOurs.equals(readFileSync(path.join(srv, 'summary.sig')))).toBe(true);
  });

  it('pulls with sign-verify=dummy and sign-verify-summary: same verdicts and messages as ostree', () => {
    const signed = ok(commit(ours, ['-s', 'signed', '--sign=good', '--sign-type=dummy']));
    ok(ostree([`--repo=${srv}`, 'summary', '-u', '--sign=good', '--sign-type=dummy'], { env: ON }));
    const cases: Array<{ name: string; set: string[] }> = [
      { name: 'commit-ok', set: ['sign-verify=dummy', 'verification-dummy-key=good'] },
      { name: 'commit-bad', set: ['sign-verify=dummy', 'verification-dummy-key=bad'] },
      { name: 'commit-nokeys', set: ['sign-verify=dummy'] },
      { name: 'true-ok', set: ['sign-verify=true', 'verification-dummy-key=good'] },
      { name: 'summary-ok', set: ['sign-verify-summary=dummy', 'verification-dummy-key=good'] },
      { name: 'summary-bad', set: ['sign-verify-summary=true', 'verification-dummy-key=bad'] },
    ];
    for (const { name, set } of cases) {
      const results = [ostree, ours].map((run, i) => {
        const repo = path.join(d, `${name}-${i}`);
        ok(ostree(['init', `--repo=${repo}`, '--mode=archive']));
        ok(ostree([`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', ...set.map((s) => `--set=${s}`), 'origin', `file://${srv}`]));
        const r = run([`--repo=${repo}`, 'pull', 'origin', 'main'], { env: ON });
        const head = ostree([`--repo=${repo}`, 'rev-parse', 'origin:main']).stdout.trim();
        return { status: r.status, err: r.stderr, head };
      });
      expect(results[1], name).toEqual(results[0]);
      if (name.endsWith('-ok')) expect(results[1].head, name).toBe(signed);
    }
  });
});
