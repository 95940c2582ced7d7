// zipl (ostree-bootloader-zipl.c, s390x): never probed. writeConfig only
// leaves a stamp; after the BLS entries are synced `zipl` runs if the stamp
// is there, and removes it. (Secure Execution setups are not handled.)
import { promises as fsp } from 'node:fs';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { OstreeError, throwAborted } from '../../errors';
import { writeFileAtomic } from '../../repo/repo';
import { Bootloader, WriteConfigOptions } from './types';
import { lexists } from './lines';

export const ZIPL_STAMP_PATH = 'boot/ostree-bootloader-update.stamp';

/** The zipl backend. */
export const zipl: Bootloader = {
  name: 'zipl',
  label: 'zipl',
  isAtomic: true,
  async writeConfig(sysrootPath: string, _bootversion: 0 | 1, _entries, opts: WriteConfigOptions = {}) {
    throwAborted(opts.signal);
    await writeFileAtomic(path.join(sysrootPath, ZIPL_STAMP_PATH), '', { mode: 0o644 });
  },
  async postBlsSync(sysrootPath: string, _bootversion: 0 | 1, opts: WriteConfigOptions = {}) {
    const stamp = path.join(sysrootPath, ZIPL_STAMP_PATH);
    if (!(await lexists(stamp))) return;
    const status = await new Promise<number | string>((resolve, reject) => {
      const child = spawn('zipl', [], { stdio: 'inherit', env: opts.env ?? process.env, signal: opts.signal });
      child.on('error', reject);
      child.on('exit', (code, sig) => resolve(sig ?? (code as number)));
    });
    if (status !== 0) {
      const how = typeof status === 'number' ? `exited with code ${status}` : `killed by signal ${status}`;
      throw new OstreeError('OSTREE_IO', `Child process ${how}`, { data: { status } });
    }
    await fsp.unlink(stamp);
  },
};
