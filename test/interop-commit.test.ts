// Foundation interop: the same tree and metadata give the same commit
// checksum as the real `ostree`, each tool accepts what the other wrote, and
// checkouts reproduce the tree exactly.
import { describe, it, expect, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { statSync, readdirSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours, ok, makeTree, describeTree, CLI, IS_ROOT } from './helpers/interop';
import { Repo } from '../lib/repo/repo';
import { Transaction } from '../lib/repo/transaction';
import { ObjectType, serializeDirTree, serializeCommit, serializeDirMeta, S_IFDIR } from '../lib/objects/formats';
import { checkout } from '../lib/checkout/checkout';
import { resolveRev, listRefs } from '../lib/refs/refs';

afterAll(cleanupTmp);

const COMMIT_ARGS = ['-s', 'Test subject', '-m', 'Test body', '--add-metadata-string=version=1.0', '--add-metadata-string=extra=x y', '--timestamp=@1600000000'];

describe.skipIf(SKIP_INTEROP)('commit checksums match ostree', () => {
  const modes = ['archive', 'bare-user', ...(IS_ROOT ? ['bare'] : []), 'bare-user-only'];
  for (const mode of modes) {
    it(`${mode}: first commit and a second commit with parent`, () => {
      const d = tmpdir();
      const t1 = path.join(d, 'tree1');
      const t2 = path.join(d, 'tree2');
      makeTree(t1, 1);
      makeTree(t2, 2);
      ok(ostree(['init', `--repo=${d}/theirs`, `--mode=${mode}`]));
      ok(ours(['init', `--repo=${d}/ours`, `--mode=${mode}`]));
      const a1 = ok(ostree(['commit', `--repo=${d}/theirs`, '-b', 'main', ...COMMIT_ARGS, t1]));
      const b1 = ok(ours(['commit', `--repo=${d}/ours`, '-b', 'main', ...COMMIT_ARGS, t1]), 'our commit');
      expect(b1).toMatch(/^[0-9a-f]{64}$/);
      expect(b1).toBe(a1);
      const a2 = ok(ostree(['commit', `--repo=${d}/theirs`, '-b', 'main', '-s', 'Second', '--timestamp=@1600086400', t2]));
      const b2 = ok(ours(['commit', `--repo=${d}/ours`, '-b', 'main', '-s', 'Second', '--timestamp=@1600086400', t2]));
      expect(b2).toBe(a2);
      // ostree accepts our repository and sees the same history.
      ok(ostree(['fsck', `--repo=${d}/ours`]), 'ostree fsck of our repo');
      expect(ok(ostree(['log', `--repo=${d}/ours`, 'main']))).toBe(ok(ostree(['log', `--repo=${d}/theirs`, 'main'])));
      expect(ok(ostree(['rev-parse', `--repo=${d}/ours`, 'main^']))).toBe(a1);
      // Our config is byte-identical to ostree's.
      expect(require('node:fs').readFileSync(`${d}/ours/config`, 'utf8')).toBe(require('node:fs').readFileSync(`${d}/theirs/config`, 'utf8'));
    });
  }

  it('our commit into a repo ostree created leaves it valid for ostree', () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    ok(ostree(['init', `--repo=${d}/r`, '--mode=archive']));
    const first = ok(ostree(['commit', `--repo=${d}/r`, '-b', 'main', '--timestamp=@1', `${d}/t`]));
    makeTree(`${d}/t2`, 2);
    const second = ok(ours(['commit', `--repo=${d}/r`, '-b', 'main', '--timestamp=@2', `${d}/t2`]));
    ok(ostree(['fsck', `--repo=${d}/r`]));
    expect(ok(ostree(['rev-parse', `--repo=${d}/r`, 'main']))).toBe(second);
    expect(ok(ostree(['rev-parse', `--repo=${d}/r`, 'main^']))).toBe(first);
    const third = ok(ostree(['commit', `--repo=${d}/r`, '-b', 'main', '--timestamp=@3', `${d}/t`]));
    expect(ok(ours(['rev-parse', `--repo=${d}/r`, 'main^']))).toBe(second);
    expect(third).toMatch(/^[0-9a-f]{64}$/);
  });

  it('--add-metadata (GVariant text), --orphan, --parent, --skip-if-unchanged, --owner-uid, --no-xattrs, --canonical-permissions', () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    ok(ostree(['init', `--repo=${d}/theirs`, '--mode=archive']));
    ok(ours(['init', `--repo=${d}/ours`, '--mode=archive']));
    const variants: string[][] = [
      ['-b', 'a', '--add-metadata=num=uint64 42', '--add-metadata=list=["x", "y"]', '--add-metadata-string=k=v', '--add-metadata=flag=true'],
      ['--orphan', '--owner-uid=1234', '--owner-gid=99'],
      ['-b', 'b', '--no-xattrs'],
      ['-b', 'c', '--canonical-permissions'],
      ['-b', 'd', '--parent=none', '--no-bindings'],
    ];
    for (const v of variants) {
      const args = [...v, '--timestamp=@1700000000', `${d}/t`];
      const a = ok(ostree(['commit', `--repo=${d}/theirs`, ...args]));
      const b = ok(ours(['commit', `--repo=${d}/ours`, ...args]), v.join(' '));
      expect(b, v.join(' ')).toBe(a);
    }
    const skipA = ok(ostree(['commit', `--repo=${d}/theirs`, '-b', 'b', '--no-xattrs', '--skip-if-unchanged', '--timestamp=@1800000000', `${d}/t`]));
    const skipB = ok(ours(['commit', `--repo=${d}/ours`, '-b', 'b', '--no-xattrs', '--skip-if-unchanged', '--timestamp=@1800000000', `${d}/t`]));
    expect(skipB).toBe(skipA);
    ok(ostree(['fsck', `--repo=${d}/ours`]));
  });

  it('--tree=tar=, --generate-sizes, --statoverride, --skip-list, --table-output, --link-checkout-speedup', () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    ok(ostree(['init', `--repo=${d}/theirs`, '--mode=archive']));
    ok(ours(['init', `--repo=${d}/ours`, '--mode=archive']));
    const tar = require('node:child_process').spawnSync('tar', ['--xattrs', '-C', `${d}/t`, '-cf', `${d}/t.tar`, '.']);
    expect(tar.status).toBe(0);
    writeFileSync(`${d}/so`, '+2048 /hello.txt\n=420 /run.sh\n');
    writeFileSync(`${d}/skip`, '/big.bin\n/sub\n');
    const variants: string[][] = [
      ['-b', 'tar', `--tree=tar=${d}/t.tar`],
      ['-b', 'mixed', `--tree=tar=${d}/t.tar`, `--tree=dir=${d}/t`],
      ['-b', 'sizes', '--generate-sizes', `${d}/t`],
      ['-b', 'so', `--statoverride=${d}/so`, `${d}/t`],
      ['-b', 'skip', `--skip-list=${d}/skip`, `${d}/t`],
      ['-b', 'base', '--tree=ref=so', `--tree=dir=${d}/t`],
    ];
    for (const v of variants) {
      const args = [...v, '--timestamp=@1700000000'];
      const a = ok(ostree(['commit', `--repo=${d}/theirs`, ...args]));
      const b = ok(ours(['commit', `--repo=${d}/ours`, ...args]), v.join(' '));
      expect(b, v.join(' ')).toBe(a);
    }
    expect(ok(ours(['show', `--repo=${d}/ours`, '--print-metadata-key=ostree.sizes', 'sizes']))).toBe(
      ok(ostree(['show', `--repo=${d}/theirs`, '--print-metadata-key=ostree.sizes', 'sizes'])),
    );
    const table = (r: string) => r.replace(/^Commit: .*\n/, '');
    const ta = ok(ostree(['commit', `--repo=${d}/theirs`, '-b', 'tbl', '--table-output', `${d}/t`]));
    const tb = ok(ours(['commit', `--repo=${d}/ours`, '-b', 'tbl', '--table-output', `${d}/t`]));
    expect(table(tb)).toBe(table(ta));
    ok(ostree(['fsck', `--repo=${d}/ours`]));
    // Hardlink checkouts from bare-user re-commit without re-reading: cache hits as ostree counts them.
    ok(ostree(['init', `--repo=${d}/bu-theirs`, '--mode=bare-user']));
    ok(ours(['init', `--repo=${d}/bu-ours`, '--mode=bare-user']));
    const c1 = ok(ostree(['commit', `--repo=${d}/bu-theirs`, '-b', 'm', '--timestamp=@1', `${d}/t`]));
    expect(ok(ours(['commit', `--repo=${d}/bu-ours`, '-b', 'm', '--timestamp=@1', `${d}/t`]))).toBe(c1);
    ok(ostree(['checkout', `--repo=${d}/bu-theirs`, '-U', 'm', `${d}/co-theirs`]));
    ok(ours(['checkout', `--repo=${d}/bu-ours`, '-U', 'm', `${d}/co-ours`]));
    const la = ok(ostree(['commit', `--repo=${d}/bu-theirs`, '-b', 'm2', '--link-checkout-speedup', '--table-output', '--timestamp=@2', `${d}/co-theirs`]));
    const lb = ok(ours(['commit', `--repo=${d}/bu-ours`, '-b', 'm2', '--link-checkout-speedup', '--table-output', '--timestamp=@2', `${d}/co-ours`]));
    expect(lb).toBe(la);
    expect(lb).toMatch(/Content Cache Hits: [1-9]/);
  });

  it('--bootable records the kernel version like ostree (and fails the same way without one)', () => {
    const d = tmpdir();
    const mk = (t: string, files: string[]) => {
      for (const f of files) {
        mkdirSync(path.dirname(`${d}/${t}/${f}`), { recursive: true });
        if (!f.endsWith('/')) writeFileSync(`${d}/${t}/${f}`, f);
      }
    };
    mk('k', ['usr/lib/modules/6.1.0-test/vmlinuz', 'usr/lib/modules/6.1.0-test/initramfs.img', 'usr/lib/modules/5.0/other', 'etc/os-release']);
    mk('nomod', ['usr/lib/modules/5.0/other']);
    mk('nolib', ['usr/x']);
    mk('nousr', ['boot/vmlinuz-5.0']);
    ok(ostree(['init', `--repo=${d}/theirs`, '--mode=archive']));
    ok(ours(['init', `--repo=${d}/ours`, '--mode=archive']));
    const args = ['--bootable', '--add-metadata-string=version=1', '--add-metadata-string=zz=1', '--timestamp=@1', `${d}/k`];
    expect(ok(ours(['commit', `--repo=${d}/ours`, '-b', 'k', ...args]))).toBe(ok(ostree(['commit', `--repo=${d}/theirs`, '-b', 'k', ...args])));
    for (const t of ['nomod', 'nolib', 'nousr']) {
      const a = ostree(['commit', `--repo=${d}/theirs`, '-b', t, '--bootable', `${d}/${t}`]);
      const b = ours(['commit', `--repo=${d}/ours`, '-b', t, '--bootable', `${d}/${t}`]);
      expect(b.status, t).toBe(a.status);
      expect(b.stderr.trim(), t).toBe(a.stderr.trim());
    }
  });

  it('--mode-ro-executables (alone, under --statoverride, from tar) gives the trees ostree gives', () => {
    const d = tmpdir();
    const t = `${d}/t`;
    mkdirSync(t);
    for (const [name, mode] of [['user-wx', 0o755], ['group-wx', 0o575], ['ugox', 0o555], ['user-writable', 0o644], ['both-wx', 0o777]] as const) {
      writeFileSync(`${t}/${name}`, name);
      require('node:fs').chmodSync(`${t}/${name}`, mode);
    }
    writeFileSync(`${d}/so`, '+0020 /ugox\n=0755 /both-wx\n');
    expect(require('node:child_process').spawnSync('tar', ['-C', t, '-cf', `${d}/t.tar`, '.']).status).toBe(0);
    const trees = (run: typeof ostree, repo: string) => {
      ok(ostree(['init', `--repo=${repo}`, '--mode=archive']));
      const out: string[] = [];
      for (const args of [[`--tree=dir=${t}`], [`--statoverride=${d}/so`, `--tree=dir=${t}`], [`--tree=tar=${d}/t.tar`]]) {
        const c = ok(run(['commit', `--repo=${repo}`, '--orphan', '--mode-ro-executables', ...args]));
        out.push(ok(ostree(['ls', `--repo=${repo}`, '-C', c])));
      }
      return out;
    };
    expect(trees(ours, `${d}/r1`)).toEqual(trees(ostree, `${d}/r2`));
    // The same modifiers on a stored tree (--tree=ref=): applied as ostree applies them.
    const fromRef = (run: typeof ostree, repo: string) => {
      ok(ostree(['init', `--repo=${repo}`, '--mode=archive']));
      ok(ostree(['commit', `--repo=${repo}`, '-b', 'base', `--tree=dir=${t}`]));
      return [['--owner-uid=1234'], ['--mode-ro-executables', `--statoverride=${d}/so`, '--owner-gid=77'], ['--canonical-permissions']].map((args) => {
        const c = ok(run(['commit', `--repo=${repo}`, '--orphan', '--tree=ref=base', ...args]));
        return ok(ostree(['ls', `--repo=${repo}`, '-RC', c]));
      });
    };
    expect(fromRef(ours, `${d}/r3`)).toEqual(fromRef(ostree, `${d}/r4`));
  });

  it('--consume deletes the committed source tree, the directory too unless it is "." (as ostree)', () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    makeTree(`${d}/t2`, 1);
    makeTree(`${d}/t3`, 1);
    ok(ours(['init', `--repo=${d}/r`, '--mode=archive']));
    const c = ok(ours(['commit', `--repo=${d}/r`, '-b', 'm', '--consume', `${d}/t`]));
    ok(ostree(['commit', `--repo=${d}/r`, '-b', 'o', '--consume', `--tree=dir=${d}/t2`]));
    expect(existsSync(`${d}/t`)).toBe(existsSync(`${d}/t2`));
    expect(existsSync(`${d}/t`)).toBe(false);
    ok(ours(['commit', `--repo=${d}/r`, '-b', 'm', '--consume', '.'], { cwd: `${d}/t3` }));
    expect(readdirSync(`${d}/t3`)).toEqual([]);
    ok(ours(['checkout', `--repo=${d}/r`, c, `${d}/co`]));
    expect(readdirSync(`${d}/co`).length).toBeGreaterThan(5);
  });

  it('a repo with a collection ID binds commits the same way', () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    ok(ostree(['init', `--repo=${d}/theirs`, '--mode=archive', '--collection-id=org.example.Test']));
    ok(ours(['init', `--repo=${d}/ours`, '--mode=archive', '--collection-id=org.example.Test']));
    const args = ['-b', 'main', '--bind-ref=other', '--timestamp=@5', `${d}/t`];
    expect(ok(ours(['commit', `--repo=${d}/ours`, ...args]))).toBe(ok(ostree(['commit', `--repo=${d}/theirs`, ...args])));
  });
});

describe.skipIf(SKIP_INTEROP)('checkout interop', () => {
  it('ostree checkout of our archive commit == our checkout of ostree\'s commit == the source tree', () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    ok(ostree(['init', `--repo=${d}/theirs`, '--mode=archive']));
    ok(ours(['init', `--repo=${d}/ours`, '--mode=archive']));
    ok(ostree(['commit', `--repo=${d}/theirs`, '-b', 'main', `${d}/t`]));
    ok(ours(['commit', `--repo=${d}/ours`, '-b', 'main', `${d}/t`]));
    ok(ostree(['checkout', `--repo=${d}/ours`, 'main', `${d}/co-ostree`]));
    ok(ours(['checkout', `--repo=${d}/theirs`, 'main', `${d}/co-ours`]));
    const src = describeTree(`${d}/t`);
    expect(describeTree(`${d}/co-ours`)).toBe(src);
    expect(describeTree(`${d}/co-ostree`)).toBe(src);
    // ownership and xattrs restored in non-user mode
    const x = require('node:child_process').spawnSync('getfattr', ['--only-values', '-n', 'user.test', `${d}/co-ours/sub/xattr.txt`]);
    expect(x.stdout.toString()).toBe('value');
  });

  it('-U from bare-user hardlinks regular files (and ostree -U reads ours)', () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    ok(ostree(['init', `--repo=${d}/theirs`, '--mode=bare-user']));
    ok(ours(['init', `--repo=${d}/ours`, '--mode=bare-user']));
    const c = ok(ostree(['commit', `--repo=${d}/theirs`, '-b', 'main', `${d}/t`]));
    ok(ours(['commit', `--repo=${d}/ours`, '-b', 'main', `${d}/t`]));
    ok(ours(['checkout', `--repo=${d}/theirs`, '-U', 'main', `${d}/co-ours`]));
    ok(ostree(['checkout', `--repo=${d}/ours`, '-U', 'main', `${d}/co-ostree`]));
    // Content, types and symlink targets are the same; modes are those of the objects (-U).
    const strip = (s: string) => s.split('\n').map((l) => l.replace(/^(\S+ \S) \d+/, '$1')).join('\n');
    expect(strip(describeTree(`${d}/co-ours`))).toBe(strip(describeTree(`${d}/t`)));
    expect(describeTree(`${d}/co-ours`)).toBe(describeTree(`${d}/co-ostree`));
    const st = statSync(`${d}/co-ours/hello.txt`);
    expect(st.nlink).toBeGreaterThan(1);
    const objDir = path.join(`${d}/theirs/objects`);
    // The checked-out file IS the repo object (same inode).
    const ls = ok(ostree(['ls', `--repo=${d}/theirs`, '-C', c, '/hello.txt'])).split(/\s+/);
    const csum = ls[4];
    expect(statSync(path.join(objDir, csum.slice(0, 2), csum.slice(2) + '.file')).ino).toBe(st.ino);
    expect(statSync(`${d}/co-ours/empty`).nlink).toBe(1);
  });

  it('--subpath, --union and --union-add', () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    ok(ours(['init', `--repo=${d}/r`, '--mode=archive']));
    ok(ours(['commit', `--repo=${d}/r`, '-b', 'main', `${d}/t`]));
    ok(ours(['checkout', `--repo=${d}/r`, '--subpath=/sub', 'main', `${d}/sub-ours`]));
    ok(ostree(['checkout', `--repo=${d}/r`, '--subpath=/sub', 'main', `${d}/sub-ostree`]));
    expect(describeTree(`${d}/sub-ours`)).toBe(describeTree(`${d}/sub-ostree`));
    ok(ours(['checkout', `--repo=${d}/r`, 'main', `${d}/u`]));
    writeFileSync(`${d}/u/hello.txt`, 'modified\n');
    writeFileSync(`${d}/u/mine`, 'mine\n');
    expect(ours(['checkout', `--repo=${d}/r`, 'main', `${d}/u`]).status).not.toBe(0);
    ok(ours(['checkout', `--repo=${d}/r`, '--union-add', 'main', `${d}/u`]));
    expect(require('node:fs').readFileSync(`${d}/u/hello.txt`, 'utf8')).toBe('modified\n');
    ok(ours(['checkout', `--repo=${d}/r`, '--union', 'main', `${d}/u`]));
    expect(require('node:fs').readFileSync(`${d}/u/hello.txt`, 'utf8')).toBe('Hello, OSTree!\n');
    expect(existsSync(`${d}/u/mine`)).toBe(true);
  });

  it('--union-identical accepts the same files and refuses different ones (bare-user, -U -H)', () => {
    const d = tmpdir();
    makeTree(`${d}/t`, 1);
    ok(ours(['init', `--repo=${d}/r`, '--mode=bare-user']));
    ok(ours(['commit', `--repo=${d}/r`, '-b', 'main', `${d}/t`]));
    expect(ours(['checkout', `--repo=${d}/r`, '--union-identical', 'main', `${d}/u`]).stderr).toMatch(/requires --require-hardlinks/);
    ok(ours(['checkout', `--repo=${d}/r`, '-U', 'main', `${d}/u`]));
    ok(ours(['checkout', `--repo=${d}/r`, '-U', '-H', '--union-identical', 'main', `${d}/u`]));
    // A copy with identical content is accepted too; a different file is not.
    ok(ours(['checkout', `--repo=${d}/r`, '-U', '-C', 'main', `${d}/v`]));
    ok(ours(['checkout', `--repo=${d}/r`, '-U', '-H', '--union-identical', 'main', `${d}/v`]));
    writeFileSync(`${d}/v/run.sh`, 'different\n');
    const r = ours(['checkout', `--repo=${d}/r`, '-U', '-H', '--union-identical', 'main', `${d}/v`]);
    expect(r.status).toBe(1);
    expect(require('node:fs').readFileSync(`${d}/v/run.sh`, 'utf8')).toBe('different\n');
    // The same words as ostree's (the hardlink that met the existing file).
    expect(require('node:child_process').spawnSync('cp', ['-a', `${d}/v`, `${d}/w`]).status).toBe(0);
    expect(r.stderr).toBe(ostree(['checkout', `--repo=${d}/r`, '-U', '-H', '--union-identical', 'main', `${d}/w`]).stderr);
    ok(ostree(['fsck', `--repo=${d}/r`]));
  });

  it('whiteouts remove files and opaque directories', async () => {
    const d = tmpdir();
    mkdirSync(`${d}/base/keep/inner`, { recursive: true });
    writeFileSync(`${d}/base/gone.txt`, 'x');
    writeFileSync(`${d}/base/keep/inner/old`, 'x');
    writeFileSync(`${d}/base/stay`, 'x');
    mkdirSync(`${d}/layer/keep`, { recursive: true });
    writeFileSync(`${d}/layer/.wh.gone.txt`, '');
    writeFileSync(`${d}/layer/keep/.wh..wh..opq`, '');
    writeFileSync(`${d}/layer/keep/new`, 'n');
    ok(ours(['init', `--repo=${d}/r`, '--mode=archive']));
    ok(ours(['commit', `--repo=${d}/r`, '-b', 'base', `${d}/base`]));
    ok(ours(['commit', `--repo=${d}/r`, '-b', 'layer', `${d}/layer`]));
    ok(ours(['checkout', `--repo=${d}/r`, 'base', `${d}/out`]));
    ok(ours(['checkout', `--repo=${d}/r`, '--union', '--whiteouts', 'layer', `${d}/out`]));
    expect(existsSync(`${d}/out/gone.txt`)).toBe(false);
    expect(existsSync(`${d}/out/.wh.gone.txt`)).toBe(false);
    expect(existsSync(`${d}/out/keep/inner`)).toBe(false);
    expect(readdirSync(`${d}/out/keep`)).toEqual(['new']);
    expect(existsSync(`${d}/out/stay`)).toBe(true);
    // The same with ostree gives the same tree.
    ok(ostree(['checkout', `--repo=${d}/r`, 'base', `${d}/out2`]));
    ok(ostree(['checkout', `--repo=${d}/r`, '--union', '--whiteouts', 'layer', `${d}/out2`]));
    expect(describeTree(`${d}/out`)).toBe(describeTree(`${d}/out2`));
  });
});

describe('checkout refuses corrupt names', () => {
  for (const bad of ['..', 'a/b', '.', '']) {
    it(`a dirtree naming ${JSON.stringify(bad)} writes nothing outside the target`, async () => {
      const d = tmpdir();
      const repo = await Repo.create(`${d}/r`, { mode: 'archive' });
      const tx = await Transaction.begin(repo);
      const file = await tx.writeContentFromBuffer({ uid: 0, gid: 0, mode: 0o100644, symlinkTarget: '', xattrs: [] }, Buffer.from('evil\n'));
      const meta = await tx.writeMetadata(ObjectType.DirMeta, serializeDirMeta({ uid: 0, gid: 0, mode: S_IFDIR | 0o755, xattrs: [] }));
      // Serialise a dirtree by hand (serializeDirTree itself does not validate names).
      const tree = await tx.writeMetadata(ObjectType.DirTree, serializeDirTree({ files: [[bad, file]], dirs: [] }));
      const commit = await tx.writeMetadata(
        ObjectType.Commit,
        serializeCommit({ metadata: [], parent: null, related: [], subject: '', body: '', timestamp: 0n, rootTree: tree, rootMeta: meta }),
      );
      await tx.commit();
      mkdirSync(`${d}/outer`);
      const before = readdirSync(`${d}/outer`);
      await expect(checkout(repo, commit, `${d}/outer/target`)).rejects.toMatchObject({ code: 'OSTREE_CORRUPT_OBJECT' });
      expect(readdirSync(`${d}/outer`)).toEqual(before);
      expect(readdirSync(d).sort()).toEqual(['outer', 'r']);
    });
  }
});

describe.skipIf(SKIP_INTEROP)('crash safety', () => {
  it('kill -9 during a commit leaves a repo that passes fsck; the retried commit succeeds', async () => {
    const d = tmpdir();
    const t = `${d}/t`;
    mkdirSync(t);
    for (let i = 0; i < 40; i++) {
      mkdirSync(`${t}/d${i}`);
      for (let j = 0; j < 100; j++) writeFileSync(`${t}/d${i}/f${j}`, `file ${i} ${j}\n`.repeat(50));
    }
    ok(ours(['init', `--repo=${d}/r`, '--mode=bare-user']));
    const killed: number[] = [];
    for (const delay of [150, 300, 600]) {
      const child = spawn(process.execPath, [CLI, 'commit', `--repo=${d}/r`, '-b', 'main', t], { stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      const code = await exited;
      if (code === null) killed.push(delay);
      ok(ostree(['fsck', `--repo=${d}/r`]), 'ostree fsck after kill');
      const repo = await Repo.open(`${d}/r`);
      for (const ref of await listRefs(repo)) {
        await expect(repo.readCommit(ref.checksum)).resolves.toBeTruthy();
      }
    }
    expect(killed.length).toBeGreaterThan(0);
    const c = ok(ours(['commit', `--repo=${d}/r`, '-b', 'main', '--parent=none', '--timestamp=@1', t]));
    const repo = await Repo.open(`${d}/r`);
    expect(await resolveRev(repo, 'main')).toBe(c);
    ok(ostree(['fsck', `--repo=${d}/r`]));
    // The same tree committed by ostree gives the same checksum.
    ok(ostree(['init', `--repo=${d}/o`, '--mode=bare-user']));
    expect(ok(ostree(['commit', `--repo=${d}/o`, '-b', 'main', '--parent=none', '--timestamp=@1', t]))).toBe(c);
  });
});
