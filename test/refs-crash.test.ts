// A ref write killed half-way, and entries of refs/ that are not refs
// (issue 16, item 2). The kill is real: NODE_OSTREE_FAULT=ref-tmp-created
// makes our CLI SIGKILL itself as soon as the ref's temp file exists. After
// it, every command that lists refs works on the repo, ours and ostree's;
// files that an older writer left in refs/, dot-files and other invalid
// names are not refs, for us as for ostree. Runs dist/: `npx tsc -p .` first.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync, renameSync, rmSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, CLI, tmpdir, cleanupTmp, ostree, ours, ok, makeTree } from './helpers/interop';
import { Repo } from '../lib/repo/repo';
import { listRefs, setRefAlias } from '../lib/refs/refs';
import { setRef } from '../lib/refs/set-ref';
import { filesUnder } from './helpers/files';

afterAll(cleanupTmp);


function objectSet(repo: string): string[] {
  return filesUnder(path.join(repo, 'objects'));
}

function copyRepo(repo: string): string {
  const dest = path.join(tmpdir(), 'copy');
  const r = spawnSync('cp', ['-a', repo, dest]);
  if (r.status !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
  return dest;
}

/** Our CLI with the ref-write fault armed: it must die by SIGKILL. */
function oursKilled(args: string[]): void {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, NODE_OSTREE_FAULT: 'ref-tmp-created' } });
  expect(r.signal, `${args.join(' ')}: ${r.stderr}`).toBe('SIGKILL');
}

/** Lines of `summary --view` naming refs ("* main"). */
function summaryRefs(repo: string): string[] {
  return ok(ostree(['summary', '--view', `--repo=${repo}`]))
    .split('\n')
    .filter((l) => /^\s*\* /.test(l))
    .map((l) => l.trim());
}

describe.skipIf(SKIP_INTEROP)('a ref write killed after its temp file exists', () => {
  for (const mode of ['archive', 'bare-user']) {
    it(`${mode}: the ref keeps its old value, refs/ holds nothing else, and every command accepts the repo (ostree too)`, () => {
      const d = tmpdir();
      makeTree(path.join(d, 't1'), 1);
      makeTree(path.join(d, 't2'), 2);
      const repo = path.join(d, 'repo');
      ok(ours(['init', `--repo=${repo}`, `--mode=${mode}`]));
      const c1 = ok(ours(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'one', path.join(d, 't1')]));

      oursKilled(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'two', path.join(d, 't2')]);
      oursKilled(['refs', `--repo=${repo}`, `--create=dev/next`, c1]);

      expect(filesUnder(path.join(repo, 'refs'))).toEqual(['heads/main']);
      expect(ok(ours(['rev-parse', `--repo=${repo}`, 'main']))).toBe(c1);
      expect(ok(ostree(['rev-parse', `--repo=${repo}`, 'main']))).toBe(c1);

      for (const run of [ours, ostree]) {
        const who = run === ours ? 'ours' : 'ostree';
        expect(ok(run(['refs', `--repo=${repo}`]), `${who} refs`)).toBe('main');
        ok(run(['fsck', `--repo=${repo}`]), `${who} fsck`);
        ok(run(['prune', '--refs-only', `--repo=${repo}`]), `${who} prune`);
        ok(run(['summary', '-u', `--repo=${repo}`]), `${who} summary -u`);
        expect(summaryRefs(repo)).toEqual(['* main']);
        const dest = path.join(tmpdir(), 'dest');
        ok(run(['init', `--repo=${dest}`, '--mode=archive']));
        ok(run(['pull-local', `--repo=${dest}`, repo]), `${who} pull-local`);
        expect(ok(run(['rev-parse', `--repo=${dest}`, 'main']))).toBe(c1);
      }
      // The next write of the ref succeeds and is the only file in refs/.
      const c2 = ok(ours(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'two', path.join(d, 't2')]));
      expect(filesUnder(path.join(repo, 'refs'))).toEqual(['heads/main']);
      expect(ok(ostree(['rev-parse', `--repo=${repo}`, 'main']))).toBe(c2);
    });
  }
});

describe.skipIf(SKIP_INTEROP)('entries of refs/ that are not valid ref names', () => {
  /**
   * A repo whose refs/ holds, besides main and sub/x: an empty `.atomic-*`
   * temp file (what a killed write of older versions left) in heads, a
   * subdirectory, a remote and a collection; a dot-file `.hidden` and a
   * dot-directory holding valid checksums (the only refs to commit c2);
   * a file named `bad name`.
   */
  function junkRepo(): { repo: string; c1: string; c2: string } {
    const d = tmpdir();
    makeTree(path.join(d, 't1'), 1);
    makeTree(path.join(d, 't2'), 2);
    const repo = path.join(d, 'repo');
    ok(ostree(['init', `--repo=${repo}`, '--mode=archive']));
    const c1 = ok(ostree(['commit', `--repo=${repo}`, '-b', 'main', '-s', 'one', '--timestamp=@1600000000', path.join(d, 't1')]));
    const c2 = ok(ostree(['commit', `--repo=${repo}`, '-b', 'side', '-s', 'two', '--timestamp=@1600086400', path.join(d, 't2')]));
    const heads = path.join(repo, 'refs', 'heads');
    renameSync(path.join(heads, 'side'), path.join(heads, '.hidden'));
    mkdirSync(path.join(heads, '.dotdir'));
    writeFileSync(path.join(heads, '.dotdir', 'inner'), c2 + '\n');
    writeFileSync(path.join(heads, 'bad name'), c1 + '\n');
    writeFileSync(path.join(heads, '.atomic-4242-mx6gu7ql-2-dwxgh9'), '');
    ok(ostree(['commit', `--repo=${repo}`, '-b', 'sub/x', '-s', 'x', '--timestamp=@1600172800', path.join(d, 't1')]));
    writeFileSync(path.join(heads, 'sub', '.atomic-4242-mx6gu7ql-3-abcdef'), '');
    for (const dir of ['remotes/origin', 'mirrors/org.example.Coll']) {
      mkdirSync(path.join(repo, 'refs', dir), { recursive: true });
      writeFileSync(path.join(repo, 'refs', dir, '.atomic-4242-mx6gu7ql-4-abcdef'), '');
      writeFileSync(path.join(repo, 'refs', dir, 'ok'), c1 + '\n');
    }
    return { repo, c1, c2 };
  }

  it('are not listed, checked, kept alive, summarised or pulled: the same as ostree', async () => {
    const { repo, c2 } = junkRepo();
    const copy = copyRepo(repo);
    const same = (args: string[]) => {
      const mine = ours([...args, `--repo=${repo}`]);
      const theirs = ostree([...args, `--repo=${copy}`]);
      expect({ status: mine.status, stdout: mine.stdout, stderr: mine.stderr }, args.join(' ')).toEqual({
        status: theirs.status,
        stdout: theirs.stdout,
        stderr: theirs.stderr,
      });
      return mine;
    };
    expect(same(['refs']).stdout.split('\n').filter(Boolean).sort()).toEqual(['main', 'origin:ok', 'sub/x']);
    same(['refs', '--list']);
    same(['refs', 'sub']);
    // (`refs -c` of a repo without a collection ID differs from ostree in how it shows refs/heads; only mirrors are compared.)
    const mirrors = (r: string) => ok(r === repo ? ours(['refs', '-c', `--repo=${r}`]) : ostree(['refs', '-c', `--repo=${r}`])).split('\n').filter((l) => l.startsWith('(org.'));
    expect(mirrors(repo)).toEqual(['(org.example.Coll, ok)']);
    expect(mirrors(copy)).toEqual(['(org.example.Coll, ok)']);
    expect(ok(same(['fsck']), 'fsck')).toContain('no errors found');
    ok(same(['summary', '-u']), 'summary -u');
    expect(summaryRefs(repo)).toEqual(summaryRefs(copy));
    expect(summaryRefs(repo).sort()).toEqual(['* (org.example.Coll, ok)', '* main', '* sub/x']);
    expect((await listRefs(await Repo.open(repo))).map((r) => r.name)).toEqual(['main', 'origin:ok', 'sub/x']);

    // ostree's pull-local takes remote refs too, and fails on them: pull from a repo without one.
    rmSync(path.join(repo, 'refs/remotes/origin/ok'));
    rmSync(path.join(copy, 'refs/remotes/origin/ok'));
    for (const [run, src] of [[ours, repo], [ostree, copy]] as const) {
      const dest = path.join(tmpdir(), 'dest');
      ok(run(['init', `--repo=${dest}`, '--mode=archive']));
      ok(run(['pull-local', `--repo=${dest}`, src]), 'pull-local');
      expect(filesUnder(path.join(dest, 'refs'))).toEqual(['heads/main', 'heads/sub/x']);
    }

    // Prune doesn't keep what only `.hidden` and `.dotdir/inner` point to.
    same(['prune', '--refs-only']);
    expect(objectSet(repo)).toEqual(objectSet(copy));
    expect(objectSet(repo)).not.toContain(`${c2.slice(0, 2)}/${c2.slice(2)}.commit`);
    ok(ostree(['fsck', `--repo=${repo}`]), 'ostree fsck after our prune');
  });

  it('API: setRef and setRefAlias leave nothing but the ref in refs/', async () => {
    const { repo, c1 } = junkRepo();
    const r = await Repo.open(repo);
    for (const junk of ['heads/.hidden', 'heads/.dotdir/inner', 'heads/bad name', 'heads/.atomic-4242-mx6gu7ql-2-dwxgh9', 'heads/sub/.atomic-4242-mx6gu7ql-3-abcdef']) {
      rmSync(path.join(repo, 'refs', junk));
    }
    const before = filesUnder(path.join(repo, 'refs'));
    await setRef(r, 'new/ref', c1);
    await setRefAlias(r, 'alias', 'new/ref');
    expect(filesUnder(path.join(repo, 'refs'))).toEqual([...before, 'heads/alias', 'heads/new/ref'].sort());
    expect(readlinkSync(path.join(repo, 'refs/heads/alias'))).toBe('new/ref');
    expect(ok(ostree(['rev-parse', `--repo=${repo}`, 'alias']))).toBe(c1);
    expect(readdirSync(path.join(repo, 'tmp'))).toEqual(['cache']);
  });
});
