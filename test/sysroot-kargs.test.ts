// KernelArgs: the cases of ostree's tests/test-kargs.c (2022.7), the parsing
// and ordering details of ostree-kernel-args.c that the CLI relies on, and
// the options real `ostree admin deploy` / `instutil set-kargs` / `kargs
// edit-in-place` write, recomputed with KernelArgs and the instutil helpers.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { KernelArgs } from '../lib/sysroot/kargs';
import { instutilSetKargs, kargsEditInPlace } from '../lib/sysroot/instutil';
import { OstreeError } from '../lib/errors';
import { SKIP_INTEROP, IS_ROOT, cleanupTmp, ostree, ours, ok } from './helpers/interop';
import { makeSysroot, readBlsEntries, TestSysroot, OSNAME, BRANCH } from './helpers/sysroot';

afterAll(() => cleanupTmp());

function words(k: KernelArgs): string[] {
  return k.toString().split(' ');
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OstreeError);
    return (e as OstreeError).code;
  }
  return undefined;
}

describe('KernelArgs (test-kargs.c)', () => {
  it('append keeps every value and to-string lists them (kargs_append)', () => {
    const k = new KernelArgs();
    for (const a of ['test=valid', 'test=secondvalid', 'test=', 'test', 'second_test']) k.append(a);
    expect(k.getAll('test')).toEqual(['valid', 'secondvalid', '', null]);
    expect(k.getAll('second_test')).toEqual([null]);
    expect(k.toString()).toBe('test=valid test=secondvalid test= test second_test');
    expect(words(k)).toHaveLength(5);
  });

  it('delete follows ostree for keys, values and duplicates (kargs_delete)', () => {
    const k = new KernelArgs();
    for (const a of ['single_key=test', 'test=firstval', 'test=secondval', 'test=', 'test']) k.append(a);
    expect(codeOf(() => k.delete('non_existant_key'))).toBe('OSTREE_NOT_FOUND');
    // a bare key among several values deletes the valueless entry
    k.delete('test');
    expect(words(k)).not.toContain('test');
    expect(codeOf(() => k.delete('test'))).toBe('OSTREE_INVALID_ARGUMENT');
    expect(codeOf(() => k.delete('test=non_existant_value'))).toBe('OSTREE_NOT_FOUND');
    expect(codeOf(() => k.delete('single_key=non_existent_value'))).toBe('OSTREE_NOT_FOUND');
    k.delete('single_key');
    expect(k.has('single_key')).toBe(false);
    expect(words(k).some((w) => w.startsWith('single_key'))).toBe(false);
    k.delete('test=secondval');
    expect(words(k)).not.toContain('test=secondval');
    k.delete('test=');
    expect(words(k)).not.toContain('test=');
    k.delete('test=firstval');
    expect(k.toString()).toBe('');
    expect(k.has('test')).toBe(false);

    k.append('test=foo').append('test=foo');
    k.delete('test=foo');
    expect(words(k)).toContain('test=foo');
    k.delete('test=foo');
    expect(words(k)).not.toContain('test=foo');

    k.append('nosmt').append('nosmt');
    k.delete('nosmt');
    expect(words(k)).toContain('nosmt');
    k.delete('nosmt');
    expect(k.toString()).toBe('');
  });

  it('replaceValue changes one value in place (kargs_replace)', () => {
    const k = new KernelArgs();
    for (const a of ['single_key', 'test=firstval', 'test=secondval']) k.append(a);
    expect(codeOf(() => k.replaceValue('nonexistantkey'))).toBe('OSTREE_NOT_FOUND');
    expect(codeOf(() => k.replaceValue('single_key=nonexistantval=newval'))).toBe('OSTREE_NOT_FOUND');
    expect(codeOf(() => k.replaceValue('test=newval'))).toBe('OSTREE_INVALID_ARGUMENT');
    k.replaceValue('single_key=newvalue');
    expect(words(k)).not.toContain('single_key');
    expect(words(k)).toContain('single_key=newvalue');
    k.replaceValue('test=firstval=newval');
    expect(words(k)).not.toContain('test=firstval');
    expect(k.toString()).toBe('single_key=newvalue test=newval test=secondval');
  });
});

describe('KernelArgs (ostree-kernel-args.c details)', () => {
  it('error messages are ostree\'s', () => {
    const k = KernelArgs.parse('a=1 b=1 b=2');
    expect(() => k.delete('zz')).toThrow("No key 'zz' found");
    expect(() => k.delete('a=2')).toThrow("No karg 'a=2' found");
    expect(() => k.delete('b')).toThrow("Multiple values for key 'b' found");
    expect(() => k.delete('b=3')).toThrow("No karg 'b=3' found");
    expect(() => k.replaceValue('b=9')).toThrow("Multiple values for key 'b' found");
  });

  it('replace (--karg) puts the new value where the key first was and drops the others', () => {
    const k = KernelArgs.parse('root=/dev/sda console=tty0 quiet console=ttyS0 rw');
    k.replace('console=hvc0');
    expect(k.toString()).toBe('root=/dev/sda console=hvc0 quiet rw');
    k.replace('new=1').replace('quiet');
    expect(k.toString()).toBe('root=/dev/sda console=hvc0 quiet rw new=1');
    k.replace('root');
    expect(k.get('root')).toBeNull();
    expect(k.toString()).toBe('root console=hvc0 quiet rw new=1');
  });

  it('splits on single spaces only and knows no quoting (2022.7)', () => {
    expect(KernelArgs.parse('').toArgv()).toEqual([]);
    expect(KernelArgs.parse('a  b').toArgv()).toEqual(['a', '', 'b']);
    expect(KernelArgs.parse('a  b').toString()).toBe('a  b');
    expect(KernelArgs.parse('x="a b" y').toArgv()).toEqual(['x="a', 'b"', 'y']);
    expect(KernelArgs.parse('k=v=w').get('k')).toBe('v=w');
    expect(KernelArgs.parse('k= k').getAll('k')).toEqual(['', null]);
  });

  it('get returns the last value; has looks at the key only', () => {
    const k = KernelArgs.parse('console=tty0 console=ttyS0,115200 ro');
    expect(k.get('console')).toBe('ttyS0,115200');
    expect(k.get('ro')).toBeNull();
    expect(k.get('nope')).toBeUndefined();
    expect(k.has('console=whatever')).toBe(true);
    expect(k.has('rw')).toBe(false);
  });

  it('appendProcCmdline chomps, splits and drops BOOT_IMAGE= and initrd=', () => {
    const k = KernelArgs.parse('base');
    k.appendProcCmdline('BOOT_IMAGE=/vmlinuz-5 root=UUID=1 initrd=/x.img ro quiet\n');
    expect(k.toString()).toBe('base root=UUID=1 ro quiet');
    expect(KernelArgs.parse('').appendProcCmdline(' \n').toArgv()).toEqual([]);
  });

  it('appendIfMissing and deleteIfPresent', () => {
    const k = KernelArgs.parse('a=1');
    k.appendIfMissing('a=2').appendIfMissing('b');
    expect(k.toString()).toBe('a=1 b');
    k.deleteIfPresent('c').deleteIfPresent('a');
    expect(k.toString()).toBe('b');
  });
});

describe.skipIf(SKIP_INTEROP || !IS_ROOT)('KernelArgs against ostree admin', () => {
  let t: TestSysroot;
  /** The options of the default deployment's BLS entry. */
  const options = (): string => readBlsEntries(t.sysroot, t.bootversion())[0].options;
  const allOptions = (): string[] => readBlsEntries(t.sysroot, t.bootversion()).map((e) => e.options);
  /** What a deploy writes for argv: appended, then ostree= replaced in place (install_deployment_kernel). */
  const written = (k: KernelArgs, theirs: string): string =>
    KernelArgs.fromArgv(k.toArgv()).replace(`ostree=${KernelArgs.parse(theirs).get('ostree')}`).toString();

  beforeAll(() => {
    t = makeSysroot();
    t.commit('1.0');
  });

  it('deploy --karg, --karg-append and --karg-delete give the options KernelArgs computes', () => {
    t.deploy(['--karg=root=LABEL=root', '--karg=quiet', '--karg-append=console=tty0', '--karg-append=console=ttyS0']);
    let prev = options();
    expect(written(new KernelArgs().replaceArgv(['root=LABEL=root', 'quiet']).appendArgv(['console=tty0', 'console=ttyS0']), prev)).toBe(prev);

    t.deploy(['--karg=console=hvc0', '--karg-append=rd.debug', '--karg-delete=quiet']);
    let expected = KernelArgs.parse(prev).replaceArgv(['console=hvc0']).appendArgv(['rd.debug']).delete('quiet');
    expect(written(expected, options())).toBe(options());
    expect(options()).toMatch(/^root=LABEL=root console=hvc0 ostree=\S+ rd\.debug$/);

    prev = options();
    t.deploy(['--karg-append=console=ttyS1', '--karg-delete=console=hvc0']);
    expected = KernelArgs.parse(prev).appendArgv(['console=ttyS1']).delete('console=hvc0');
    expect(written(expected, options())).toBe(options());
  });

  it('a --karg-delete ostree refuses fails the same way in KernelArgs', () => {
    const prev = options();
    for (const bad of ['nosuchkey', 'root=LABEL=other']) {
      const r = ostree(['admin', 'deploy', `--os=${OSNAME}`, `--karg-delete=${bad}`, BRANCH], { env: t.env });
      expect(r.status).toBe(1);
      const ours = (() => {
        try {
          KernelArgs.parse(prev).delete(bad);
          return '';
        } catch (e) {
          return (e as Error).message;
        }
      })();
      expect(r.stderr.trim()).toBe(`error: ${ours}`);
    }
  });

  it('instutil set-kargs (--merge, --replace, --append, args, --import-proc-cmdline) matches instutilSetKargs', () => {
    let prev = options();
    ok(ostree(['admin', 'instutil', 'set-kargs', '--merge', '--replace=root=LABEL=new', '--append=console=ttyS0', 'extra', 'x=1'], { env: t.env }), 'set-kargs');
    let k = instutilSetKargs(prev, { merge: true, replace: ['root=LABEL=new'], append: ['console=ttyS0'], args: ['extra', 'x=1'] });
    expect(written(k, options())).toBe(options());

    prev = options();
    ok(ostree(['admin', 'instutil', 'set-kargs', '--replace=a=1', 'b'], { env: t.env }), 'set-kargs');
    k = instutilSetKargs(prev, { replace: ['a=1'], args: ['b'] });
    expect(written(k, options())).toBe(options());
    expect(options()).toMatch(/^a=1 b ostree=/);

    ok(ostree(['admin', 'instutil', 'set-kargs', '--import-proc-cmdline', '--append=z'], { env: t.env }), 'set-kargs');
    k = instutilSetKargs(null, { procCmdline: readFileSync('/proc/cmdline', 'utf8'), append: ['z'] });
    expect(written(k, options())).toBe(options());
  });

  it('kargs edit-in-place --append-if-missing matches kargsEditInPlace for every deployment', () => {
    const before = allOptions();
    expect(before.length).toBeGreaterThan(1);
    ok(ostree(['admin', 'kargs', 'edit-in-place', '--append-if-missing=TESTARG=TESTVALUE', '--append-if-missing=b=2', '--append-if-missing=NOKEY'], { env: t.env }), 'edit-in-place');
    const after = allOptions();
    expect(after).toEqual(before.map((o) => kargsEditInPlace(o, ['TESTARG=TESTVALUE', 'b=2', 'NOKEY'])));
    expect(after[0]).toMatch(/ z ostree=\S+ TESTARG=TESTVALUE b=2 NOKEY$/);
  });
});

describe.skipIf(SKIP_INTEROP || !IS_ROOT)('ostree admin instutil: ours against ostree on copies of one sysroot', () => {
  let t: TestSysroot;
  /** A copy of t's sysroot; returns its path and the env pointing at it. */
  const copy = (name: string): { root: string; env: NodeJS.ProcessEnv } => {
    const root = path.join(t.dir, name);
    execFileSync('cp', ['-a', t.sysroot, root]);
    return { root, env: { ...t.env, OSTREE_SYSROOT: root } };
  };
  const entries = (root: string) => {
    const v = readlinkSync(path.join(root, 'boot/loader')) === 'loader.1' ? 1 : 0;
    return { v, entries: readBlsEntries(root, v) };
  };

  beforeAll(() => {
    t = makeSysroot();
    t.commit('1.0');
    t.deploy(['--karg=root=LABEL=root', '--karg-append=console=tty0']);
    t.deploy();
  });

  it('set-kargs writes the same deployment list, bootversion and entries as ostree', () => {
    for (const argv of [['FOO=BAZ', 'FOO=BIF', 'KEYWORD', 'EMPTY='], ['--merge', '--replace=FOO=XXX', '--append=console=ttyS0', 'x'], ['--import-proc-cmdline', 'y=1']]) {
      const a = copy(`theirs-${argv[0]}`);
      const b = copy(`ours-${argv[0]}`);
      ok(ostree(['admin', 'instutil', 'set-kargs', ...argv], { env: a.env }), 'ostree set-kargs');
      ok(ours(['admin', 'instutil', 'set-kargs', ...argv], { env: b.env }), 'our set-kargs');
      expect(entries(b.root)).toEqual(entries(a.root));
      expect(entries(b.root).v).not.toBe(t.bootversion());
    }
  });

  it('grub2-generate prints ostree\'s menu entries (bootversion argument, env, errors)', () => {
    const env = { ...t.env, GRUB2_BOOT_DEVICE_ID: 'dev-1234', GRUB2_PREPARE_ROOT_CACHE: "search --fs-uuid --set=root 'x'" };
    for (const argv of [[], [String(t.bootversion())]]) {
      const theirs = ok(ostree(['admin', 'instutil', 'grub2-generate', ...argv], { env }), 'ostree grub2-generate');
      expect(ok(ours(['admin', 'instutil', 'grub2-generate', ...argv], { env }), 'our grub2-generate')).toBe(theirs);
      expect(theirs).toMatch(/^menuentry 'TestOS 42 1\.0 \(ostree:0\)'/);
    }
    const efi = { ...env, _OSTREE_GRUB2_IS_EFI: '1' };
    expect(ours(['admin', 'instutil', 'grub2-generate'], { env: efi }).stdout).toBe(ostree(['admin', 'instutil', 'grub2-generate'], { env: efi }).stdout);
    const bad = ours(['admin', 'instutil', 'grub2-generate', '2'], { env });
    expect([bad.status, bad.stderr.trim()]).toEqual([1, ostree(['admin', 'instutil', 'grub2-generate', '2'], { env }).stderr.trim()]);
    const unknown = ours(['admin', 'instutil', 'nosuch'], { env });
    expect(unknown.status).toBe(1);
    // Debian's ostree is built with SELinux and lists selinux-ensure-labeled, which we do not offer.
    const theirs = ostree(['admin', 'instutil', 'nosuch'], { env }).stderr.replace(/\/usr\/bin\/ostree/g, 'ostree');
    expect(unknown.stderr).toBe(theirs.replace(/\n  selinux-ensure-labeled .*/, ''));
  });
});
