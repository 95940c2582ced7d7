// Bootloader backends against the real ostree: ostree deploys into sysroots
// set up for syslinux / u-boot / grub2 as libtest.sh does; the BLS entries it
// wrote are fed to our writer (with the old config ostree read, for
// syslinux) and the config files are compared byte for byte.
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync, writeFileSync, mkdirSync, renameSync, readlinkSync, chmodSync, existsSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, IS_ROOT, cleanupTmp, ostree, ok, tmpdir } from './helpers/interop';
import { makeSysroot, readBlsEntries, TestSysroot } from './helpers/sysroot';
import { selectBootloader, syslinux, uboot, grub2 } from '../lib/sysroot/bootloader';
import { buildSyslinuxConfig } from '../lib/sysroot/bootloader/syslinux';
import { joinLines } from '../lib/sysroot/bootloader/lines';
import { generateGrub2Config, queryGrub2 } from '../lib/sysroot/bootloader/grub2';
import { OstreeError } from '../lib/errors';

afterAll(() => cleanupTmp());

const SKIP = SKIP_INTEROP || !IS_ROOT;

/** The contents ostree read as the old syslinux.cfg (through boot/syslinux/syslinux.cfg). */
function oldSyslinux(t: TestSysroot): string {
  return readFileSync(path.join(t.sysroot, 'boot/syslinux/syslinux.cfg'), 'utf8');
}

/** Deploy with ostree, then write the same bootversion's syslinux.cfg with ours into a scratch sysroot. */
async function deployAndCompareSyslinux(t: TestSysroot, args: string[]): Promise<string> {
  const old = oldSyslinux(t);
  t.deploy(args);
  const v = t.bootversion() as 0 | 1;
  const theirs = readFileSync(path.join(t.sysroot, `boot/loader.${v}/syslinux.cfg`), 'utf8');
  const scratch = tmpdir();
  mkdirSync(path.join(scratch, 'boot/syslinux'), { recursive: true });
  mkdirSync(path.join(scratch, `boot/loader.${v}`), { recursive: true });
  writeFileSync(path.join(scratch, 'boot/syslinux/syslinux.cfg'), old);
  await syslinux.writeConfig(scratch, v, readBlsEntries(t.sysroot, v));
  const ours = readFileSync(path.join(scratch, `boot/loader.${v}/syslinux.cfg`), 'utf8');
  expect(ours).toBe(theirs);
  return theirs;
}

describe.skipIf(SKIP)('syslinux against ostree', () => {
  it('keeps foreign blocks, drops and regenerates its own, regenerates DEFAULT as ostree does', async () => {
    const t = makeSysroot('syslinux');
    expect((await selectBootloader(t.sysroot)).name).toBe('syslinux');
    writeFileSync(path.join(t.sysroot, 'boot/loader/syslinux.cfg'), '\nPROMPT 1\n\n\nDEFAULT foo\nLABEL foo\n\tKERNEL /vmlinuz-foo\n\tAPPEND quiet\n\n\nTIMEOUT 50\n');
    t.commit('1.0');
    const first = await deployAndCompareSyslinux(t, ['--karg=root=LABEL=root']);
    expect(first).toContain('LABEL foo\n');
    expect(first).not.toContain('DEFAULT');
    t.commit('2.0');
    const second = await deployAndCompareSyslinux(t, ['--karg-append=console=ttyS0']);
    expect(second.match(/^LABEL /gm)).toHaveLength(3);
    // an ostree DEFAULT line makes ostree regenerate it
    const cur = path.join(t.sysroot, 'boot/loader/syslinux.cfg');
    writeFileSync(cur, readFileSync(cur, 'utf8').replace('TIMEOUT 50\n', 'TIMEOUT 50\nDEFAULT TestOS 42 2.0 (ostree:0)\n'));
    t.commit('3.0');
    const third = await deployAndCompareSyslinux(t, []);
    expect(third).toMatch(/^DEFAULT TestOS 42 3\.0 \(ostree:0\)$/m);
  });
});

describe('syslinux config text', () => {
  const entry = { title: 'T (ostree:0)', linux: '/ostree/os-c/vmlinuz', initrd: '/ostree/os-c/initramfs.img', options: 'root=x ostree=/ostree/boot.1/os/c/0' };

  it('needs a KERNEL in a LABEL block and a linux key in entries (ostree\'s errors)', () => {
    expect(() => buildSyslinuxConfig('LABEL x\n\tAPPEND y\n', [entry])).toThrow('No KERNEL argument found after LABEL');
    expect(() => buildSyslinuxConfig('', [{ title: 't' }])).toThrow('No "linux" key in bootloader config');
  });

  it('a block without KERNEL inherits the previous block\'s kernel; (Untitled) for no title', () => {
    const text = buildSyslinuxConfig('LABEL a\n\tKERNEL /boot/ostree/x\nLABEL b\n\tAPPEND z\nLABEL c\n\tKERNEL /vmlinuz\n', [{ linux: '/k' }]);
    expect(text).toBe('LABEL c\n\tKERNEL /vmlinuz\n\nDEFAULT (Untitled)\nLABEL (Untitled)\n\tKERNEL /boot/k\n');
  });

  it('joinLines drops a leading empty line and every empty line after the first kept one', () => {
    expect(joinLines(['', 'a', '', '', 'b', '', 'c'])).toBe('a\n\nb\nc\n');
  });
});

describe.skipIf(SKIP)('u-boot against ostree', () => {
  it('writes uEnv.txt with the deployment\'s own uEnv.txt after the default bootargs', async () => {
    const t = makeSysroot('uboot');
    expect((await selectBootloader(t.sysroot)).name).toBe('uboot');
    mkdirSync(path.join(t.osdata, 'usr/lib/ostree-boot'), { recursive: true });
    writeFileSync(path.join(t.osdata, 'usr/lib/ostree-boot/uEnv.txt'), 'myuenv=1\n\n\nx=2\n');
    writeFileSync(path.join(t.osdata, 'usr/lib/modules/3.6.0/devicetree'), 'a device tree\n');
    t.commit('1.0');
    t.deploy(['--karg=root=LABEL=root']);
    t.commit('2.0');
    t.deploy(['--karg-append=quiet']);
    const v = t.bootversion() as 0 | 1;
    const file = path.join(t.sysroot, `boot/loader.${v}/uEnv.txt`);
    const theirs = readFileSync(file, 'utf8');
    expect(theirs).toContain('myuenv=1\n\n\nx=2\n\n');
    expect(theirs).toContain('fdt_file2=');
    writeFileSync(file, 'placeholder\n'); // boot/loader/uEnv.txt must stay readable
    await uboot.writeConfig(t.sysroot, v, readBlsEntries(t.sysroot, v));
    expect(readFileSync(file, 'utf8')).toBe(theirs);
  });

  it('refuses a default entry without ostree= (ostree\'s message)', async () => {
    const d = tmpdir();
    mkdirSync(path.join(d, 'boot/loader.0'), { recursive: true });
    symlinkSync('loader.0', path.join(d, 'boot/loader'));
    writeFileSync(path.join(d, 'boot/loader/uEnv.txt'), '');
    const err = await uboot.writeConfig(d, 0, [{ linux: '/k', options: 'root=x' }]).catch((e) => e);
    expect(err).toBeInstanceOf(OstreeError);
    expect(err.message).toBe('No ostree= kernel argument found in boot loader configuration file');
  });
});

/** A fake grub-mkconfig recording what it was given. */
function fakeGenerator(dir: string): string {
  const p = path.join(dir, 'fake-grub-mkconfig');
  writeFileSync(p, '#!/bin/sh\nprintf "args=%s %s\\nbootversion=%s\\nefi=%s\\n" "$1" "$2" "$_OSTREE_GRUB2_BOOTVERSION" "${_OSTREE_GRUB2_IS_EFI-unset}" > "$2"\n');
  chmodSync(p, 0o755);
  return p;
}

describe.skipIf(SKIP)('grub2 against ostree', () => {
  it('BIOS: runs $OSTREE_GRUB2_EXEC -o boot/loader.N/grub.cfg with the same environment', async () => {
    const t = makeSysroot();
    mkdirSync(path.join(t.sysroot, 'boot/grub2'), { recursive: true });
    symlinkSync('../loader/grub.cfg', path.join(t.sysroot, 'boot/grub2/grub.cfg'));
    const gen = fakeGenerator(t.dir);
    t.env.OSTREE_GRUB2_EXEC = gen;
    const bl = await selectBootloader(t.sysroot);
    expect([bl.name, bl.isAtomic]).toEqual(['grub2', true]);
    t.commit('1.0');
    t.deploy(['--karg=root=LABEL=root']);
    const v = t.bootversion() as 0 | 1;
    const file = path.join(t.sysroot, `boot/loader.${v}/grub.cfg`);
    const theirs = readFileSync(file, 'utf8');
    expect(theirs).toContain(`bootversion=${v}\nefi=unset\n`);
    renameSync(file, file + '.ostree');
    await bl.writeConfig(t.sysroot, v, readBlsEntries(t.sysroot, v), { env: { ...process.env, OSTREE_GRUB2_EXEC: gen } });
    expect(readFileSync(file, 'utf8')).toBe(theirs);
  });

  it('EFI: writes grub.cfg.new, keeps grub.cfg.old and replaces grub.cfg as ostree does', async () => {
    const t = makeSysroot();
    const efi = path.join(t.sysroot, 'boot/efi/EFI');
    mkdirSync(path.join(efi, 'BOOT'), { recursive: true });
    writeFileSync(path.join(efi, 'BOOT/grub.cfg'), 'not this one\n');
    mkdirSync(path.join(efi, 'debian'));
    writeFileSync(path.join(efi, 'debian/grub.cfg'), 'the installer config\n');
    const gen = fakeGenerator(t.dir);
    t.env.OSTREE_GRUB2_EXEC = gen;
    const bl = await selectBootloader(t.sysroot);
    expect([bl.name, bl.isAtomic]).toEqual(['grub2', false]);
    t.commit('1.0');
    t.deploy([]);
    const v = t.bootversion() as 0 | 1;
    const theirs = { cfg: readFileSync(path.join(efi, 'debian/grub.cfg'), 'utf8'), old: readFileSync(path.join(efi, 'debian/grub.cfg.old'), 'utf8') };
    expect(theirs.cfg).toContain('efi=1\n');
    expect(theirs.old).toBe('the installer config\n');
    expect(existsSync(path.join(efi, 'debian/grub.cfg.new'))).toBe(false);
    // ours, from the state before ostree's deploy
    writeFileSync(path.join(efi, 'debian/grub.cfg'), 'the installer config\n');
    await (await queryGrub2(t.sysroot))!.writeConfig(t.sysroot, v, readBlsEntries(t.sysroot, v), { env: { ...process.env, OSTREE_GRUB2_EXEC: gen } });
    expect(readFileSync(path.join(efi, 'debian/grub.cfg'), 'utf8')).toBe(theirs.cfg);
    expect(readFileSync(path.join(efi, 'debian/grub.cfg.old'), 'utf8')).toBe(theirs.old);
    expect(existsSync(path.join(efi, 'debian/grub.cfg.new'))).toBe(false);
  });

  it('generateGrub2Config prints what ostree admin instutil grub2-generate prints', () => {
    const t = makeSysroot();
    t.commit('1.0');
    t.deploy(["--karg=root=LABEL=it's"]);
    t.commit('2.0');
    t.deploy([]);
    const v = t.bootversion();
    const env = { ...t.env, GRUB2_BOOT_DEVICE_ID: 'dev-1234', GRUB2_PREPARE_ROOT_CACHE: "search --no-floppy --fs-uuid --set=root 'dev 1234'" };
    const theirs = ok(ostree(['admin', 'instutil', 'grub2-generate', String(v)], { env }), 'grub2-generate');
    const ours = generateGrub2Config(readBlsEntries(t.sysroot, v), { bootDeviceId: env.GRUB2_BOOT_DEVICE_ID, prepareRootCache: env.GRUB2_PREPARE_ROOT_CACHE });
    expect(ours.trim()).toBe(theirs);
    expect(ours).toContain("'ostree-1-dev-1234'");
  });

  it('a failing generator is "<exe>: Child process exited with code N"', async () => {
    const d = tmpdir();
    mkdirSync(path.join(d, 'boot/loader.1'), { recursive: true });
    const err = await grub2(null)
      .writeConfig(d, 1, [{ linux: '/k', options: 'ostree=/ostree/boot.1/os/c/0' }], { env: { ...process.env, OSTREE_GRUB2_EXEC: '/bin/false' } })
      .catch((e) => e);
    expect(err.message).toBe('/bin/false: Child process exited with code 1');
  });
});

describe('selectBootloader', () => {
  it('probes syslinux, then grub2, then u-boot; none when nothing is there', async () => {
    const d = tmpdir();
    expect((await selectBootloader(d)).name).toBe('none');
    mkdirSync(path.join(d, 'boot/loader.0'), { recursive: true });
    symlinkSync('loader.0', path.join(d, 'boot/loader'));
    writeFileSync(path.join(d, 'boot/loader/uEnv.txt'), '');
    expect((await selectBootloader(d)).name).toBe('uboot');
    mkdirSync(path.join(d, 'boot/grub'));
    symlinkSync('../loader/grub.cfg', path.join(d, 'boot/grub/grub.cfg')); // dangling counts
    expect((await selectBootloader(d)).name).toBe('grub2');
    mkdirSync(path.join(d, 'boot/syslinux'));
    symlinkSync('../loader/syslinux.cfg', path.join(d, 'boot/syslinux/syslinux.cfg'));
    expect((await selectBootloader(d)).name).toBe('syslinux');
    expect(readlinkSync(path.join(d, 'boot/syslinux/syslinux.cfg'))).toBe('../loader/syslinux.cfg');
  });

  it('takes the configured one without probing; rejects unknown values with ostree\'s message', async () => {
    const d = tmpdir();
    expect((await selectBootloader(d, 'zipl')).name).toBe('zipl');
    expect((await selectBootloader(d, 'grub2')).isAtomic).toBe(true);
    const err = await selectBootloader(d, 'lilo').catch((e) => e);
    expect(err.code).toBe('OSTREE_CONFIG');
    expect(err.message).toBe("Invalid bootloader configuration: 'lilo'");
  });
});
