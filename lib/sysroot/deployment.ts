// A deployment: one checked-out commit of a stateroot, with its boot
// configuration and origin. Mirrors ostree-deployment.c (FORMATS.md §9.2).
import { KeyFile } from '../repo/keyfile';
import { BootConfig } from './bls';

export type UnlockedState = 'none' | 'development' | 'hotfix' | 'transient';

/**
 * One deployment of a sysroot: the stateroot (`osname`), the commit
 * (`csum`), its serial among checkouts of that commit (`deployserial`), the
 * checksum of its kernel and initramfs (`bootcsum`) and its position in the
 * boot order (`index`, 0 = default).
 *
 * @example
 * import { Sysroot } from 'node-ostree';
 * const sysroot = await Sysroot.open('/');
 * for (const d of sysroot.deployments) console.log(d.index, d.osname, `${d.csum}.${d.deployserial}`, d.pinned);
 */
export class Deployment {
  index: number;
  readonly osname: string;
  readonly csum: string;
  readonly deployserial: number;
  bootcsum: string;
  bootserial: number;
  /** The BLS entry this deployment was read from, or the one being built for it. */
  bootconfig: BootConfig;
  /** The `.origin` keyfile, or null when the deployment has none. */
  origin: KeyFile | null;
  unlocked: UnlockedState = 'none';
  /** A staged deployment, finalized at shutdown. */
  staged = false;

  constructor(o: { index?: number; osname: string; csum: string; deployserial: number; bootcsum?: string; bootserial?: number; bootconfig?: BootConfig; origin?: KeyFile | null }) {
    this.index = o.index ?? -1;
    this.osname = o.osname;
    this.csum = o.csum;
    this.deployserial = o.deployserial;
    this.bootcsum = o.bootcsum ?? '';
    this.bootserial = o.bootserial ?? -1;
    this.bootconfig = o.bootconfig ?? new BootConfig();
    this.origin = o.origin ?? null;
  }

  /** `CSUM.SERIAL`, the deployment directory's name. */
  get name(): string {
    return `${this.csum}.${this.deployserial}`;
  }

  /** Path relative to the sysroot: `ostree/deploy/OS/deploy/CSUM.SERIAL`. */
  get relpath(): string {
    return `ostree/deploy/${this.osname}/deploy/${this.name}`;
  }

  get originRelpath(): string {
    return `${this.relpath}.origin`;
  }

  /** `[libostree-transient] pinned=true` in the origin. */
  get pinned(): boolean {
    return this.origin ? this.origin.getBoolean('libostree-transient', 'pinned', false) : false;
  }

  /** The origin's `[origin] refspec`, if any. */
  get refspec(): string | null {
    return this.origin?.get('origin', 'refspec') ?? null;
  }

  /** Kernel arguments of the boot entry (the `options` line, split on spaces). */
  get kargs(): string[] {
    const o = this.bootconfig.get('options');
    return o ? o.split(' ').filter((s) => s !== '') : [];
  }

  /** Same stateroot, commit and serial (ostree_deployment_equal). */
  equals(other: Deployment | null | undefined): boolean {
    return !!other && other.osname === this.osname && other.csum === this.csum && other.deployserial === this.deployserial;
  }

  /** A copy with its own bootconfig and origin (ostree_deployment_clone). */
  clone(): Deployment {
    const d = new Deployment({
      index: this.index,
      osname: this.osname,
      csum: this.csum,
      deployserial: this.deployserial,
      bootcsum: this.bootcsum,
      bootserial: this.bootserial,
      bootconfig: this.bootconfig.clone(),
      origin: this.origin ? KeyFile.parse(this.origin.serialize()) : null,
    });
    d.unlocked = this.unlocked;
    d.staged = this.staged;
    return d;
  }
}

/** Parses `CSUM.SERIAL` (_ostree_sysroot_parse_deploy_path_name). */
export function parseDeployPathName(name: string): { csum: string; deployserial: number } | null {
  const m = /^([0-9a-f]+)\.([0-9]+)$/.exec(name);
  if (!m || m[1].length !== 64) return null;
  return { csum: m[1], deployserial: Number(m[2]) };
}
