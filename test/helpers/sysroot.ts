// A scratch sysroot deployed by the real `ostree`, as libtest.sh's
// setup_os_repository builds it: a tiny OS tree (kernel and initramfs in
// usr/lib/modules/3.6.0, a few files in usr/etc), committed to an archive
// repo, `admin init-fs` + `os-init testos`, and an optional bootloader stub
// (setup_os_boot_syslinux / setup_os_boot_uboot).
import { mkdirSync, writeFileSync, symlinkSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { ostree, ok, tmpdir } from './interop';

export const OSNAME = 'testos';
export const BRANCH = 'testos/buildmain/x86_64-runtime';

export interface TestSysroot {
  dir: string;
  sysroot: string;
  osdata: string;
  repo: string;
  env: NodeJS.ProcessEnv;
  /** Commit osdata (after editing it) to the test repo and pull it into the sysroot repo. */
  commit(version: string): string;
  /** `ostree admin deploy` of the branch with extra arguments; returns stdout. */
  deploy(args?: string[]): string;
  /** Deployment directories, newest first (the order of the BLS entries). */
  deployments(): string[];
  bootversion(): number;
}

function w(p: string, data: string): void {
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, data);
}

export function makeSysroot(bootmode: 'none' | 'syslinux' | 'uboot' = 'none'): TestSysroot {
  const dir = tmpdir('node-ostree-sysroot-');
  const osdata = path.join(dir, 'osdata');
  const repo = path.join(dir, 'testos-repo');
  const sysroot = path.join(dir, 'sysroot');
  // mutable-deployments: no immutable bit, so the temp dir can be removed.
  const env = { OSTREE_SYSROOT: sysroot, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' };
  w(path.join(osdata, 'usr/lib/modules/3.6.0/vmlinuz'), 'a kernel\n');
  w(path.join(osdata, 'usr/lib/modules/3.6.0/initramfs.img'), 'an initramfs\n');
  w(path.join(osdata, 'usr/bin/sh'), 'an executable\n');
  w(path.join(osdata, 'usr/etc/os-release'), 'NAME=TestOS\nVERSION=42\nID=testos\nVERSION_ID=42\nPRETTY_NAME="TestOS 42"\n');
  w(path.join(osdata, 'usr/etc/aconfigfile'), 'a config file\n');
  w(path.join(osdata, 'usr/etc/NetworkManager/nm.conf'), 'a default daemon file\n');
  w(path.join(osdata, 'usr/etc/testdirectory/test'), 'a default daemon file\n');
  symlinkSync('usr/bin', path.join(osdata, 'bin'));
  ok(ostree(['--repo=' + repo, 'init', '--mode=archive']), 'init');
  mkdirSync(sysroot);
  ok(ostree(['admin', 'init-fs', sysroot]), 'init-fs');
  ok(ostree(['admin', 'os-init', OSNAME], { env }), 'os-init');
  if (bootmode === 'syslinux') {
    mkdirSync(path.join(sysroot, 'boot/loader.0'), { recursive: true });
    symlinkSync('loader.0', path.join(sysroot, 'boot/loader'));
    writeFileSync(path.join(sysroot, 'boot/loader/syslinux.cfg'), '');
    mkdirSync(path.join(sysroot, 'boot/syslinux'), { recursive: true });
    symlinkSync('../loader/syslinux.cfg', path.join(sysroot, 'boot/syslinux/syslinux.cfg'));
  } else if (bootmode === 'uboot') {
    mkdirSync(path.join(sysroot, 'boot/loader.0'), { recursive: true });
    symlinkSync('loader.0', path.join(sysroot, 'boot/loader'));
    writeFileSync(path.join(sysroot, 'boot/loader/uEnv.txt'), '');
    symlinkSync('loader/uEnv.txt', path.join(sysroot, 'boot/uEnv.txt'));
  }
  const t: TestSysroot = {
    dir,
    sysroot,
    osdata,
    repo,
    env,
    commit(version) {
      const c = ok(
        ostree(['--repo=' + repo, 'commit', '--bootable', '--add-metadata-string', `version=${version}`, '-b', BRANCH, '-s', 'Build', osdata]),
        'commit',
      );
      ok(ostree(['--repo=' + path.join(sysroot, 'ostree/repo'), 'pull-local', repo, BRANCH]), 'pull-local');
      return c;
    },
    deploy(args = []) {
      return ok(ostree(['admin', 'deploy', `--os=${OSNAME}`, ...args, BRANCH], { env }), 'admin deploy');
    },
    deployments() {
      const v = t.bootversion();
      const entries = path.join(sysroot, `boot/loader.${v}/entries`);
      const confs = readdirSync(entries)
        .map((f) => readFileSync(path.join(entries, f), 'utf8'))
        .map((text) => ({ version: Number(/^version (\d+)$/m.exec(text)![1]), opts: /^options (.*)$/m.exec(text)![1] }))
        .sort((a, b) => b.version - a.version);
      return confs.map((c) => {
        const bootlink = /ostree=(\S+)/.exec(c.opts)![1];
        return realpathSync(path.join(sysroot, bootlink));
      });
    },
    bootversion() {
      try {
        return readlinkSync(path.join(sysroot, 'boot/loader')) === 'loader.1' ? 1 : 0;
      } catch {
        return 0;
      }
    },
  };
  return t;
}

/** The BLS entries of a bootversion, default first (sorted by `version` descending), as key → value maps. */
export function readBlsEntries(sysroot: string, bootversion: number): Array<Record<string, string>> {
  const dir = path.join(sysroot, `boot/loader.${bootversion}/entries`);
  const entries = readdirSync(dir)
    .filter((f) => f.startsWith('ostree-') && f.endsWith('.conf'))
    .map((f) => {
      const e: Record<string, string> = {};
      for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
        if (!/^[A-Za-z]/.test(line)) continue;
        const m = /^([^ \t]*)[ \t](.*)$/.exec(line);
        if (m) e[m[1]] = m[2];
      }
      return e;
    });
  return entries.sort((a, b) => Number(b.version) - Number(a.version));
}
