// KernelArgs: the cases of ostree's tests/test-kargs.c (2022.7), plus the
// parsing and ordering details of ostree-kernel-args.c that the CLI relies on.
import { describe, it, expect } from 'vitest';
import { KernelArgs } from '../lib/sysroot/kargs';
import { OstreeError } from '../lib/errors';

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
