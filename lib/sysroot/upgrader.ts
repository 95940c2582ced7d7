// Upgrading a stateroot from its origin (ostree-sysroot-upgrader.c;
// `ostree admin upgrade` and `ostree admin switch`): pull the origin's ref
// (or override-commit) from its remote, refuse a chronologically older
// commit unless allowed, deploy it on top of the merge deployment.
import { OstreeError } from '../errors';
import { compareTimestamps } from '../pull/verify';
import { isValidChecksum } from '../objects/formats';
import { parseRefspec, resolveRev } from '../refs/refs';
import { setRef } from '../refs/set-ref';
import { KeyFile } from '../repo/keyfile';
import type { Repo } from '../repo/repo';
import { deployTree } from './deploy';
import { Deployment } from './deployment';
import type { Sysroot } from './sysroot';
import { simpleWriteDeployment } from './write-deployments';

export interface UpgraderPullOptions {
  /** Permit a commit older than the merge deployment's (`--allow-downgrade`; always for switch). */
  allowOlder?: boolean;
  /** Don't pull, use what the repo has (`--deploy-only`). */
  synthetic?: boolean;
  signal?: AbortSignal;
}

/** _ostree_compare_timestamps of two local commits. */
export async function checkTimestamps(repo: Repo, fromRev: string, toRev: string): Promise<void> {
  compareTimestamps(fromRev, (await repo.readCommit(fromRev)).timestamp, toRev, (await repo.readCommit(toRev)).timestamp);
}

/**
 * The upgrade state of one stateroot (OstreeSysrootUpgrader): its merge
 * deployment and origin; pull() finds the new revision, deploy() deploys it.
 *
 * @example
 * import { Sysroot, SysrootUpgrader } from 'node-ostree';
 * const sysroot = await Sysroot.open('/mnt/sysroot');
 * await sysroot.withLock(async () => {
 *   const up = await SysrootUpgrader.create(sysroot, 'exampleos');
 *   if (await up.pull()) await up.deploy();
 * });
 */
export class SysrootUpgrader {
  readonly osname: string;
  readonly merge: Deployment;
  origin: KeyFile;
  originRemote: string | null = null;
  originRef = '';
  overrideCsum: string | null = null;
  newRevision: string | null = null;

  private constructor(private readonly sysroot: Sysroot, osname: string, merge: Deployment, origin: KeyFile, private readonly ignoreUnconfigured: boolean) {
    this.osname = osname;
    this.merge = merge;
    this.origin = origin;
    this.parseRefspec();
  }

  static async create(sysroot: Sysroot, osname?: string | null, o: { ignoreUnconfigured?: boolean } = {}): Promise<SysrootUpgrader> {
    if (!sysroot.booted && osname == null) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Not currently booted into an OSTree system and no OS specified');
    if (osname === '') throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Invalid empty osname');
    const os = osname ?? (sysroot.booted as Deployment).osname;
    const merge = sysroot.mergeDeployment(os);
    if (!merge) throw new OstreeError('OSTREE_NOT_FOUND', `No previous deployment for OS '${os}'`);
    if (!merge.origin) throw new OstreeError('OSTREE_NOT_FOUND', `No origin known for deployment ${merge.name}`);
    return new SysrootUpgrader(sysroot, os, merge, KeyFile.parse(merge.origin.serialize()), !!o.ignoreUnconfigured);
  }

  private parseRefspec(): void {
    if (!this.ignoreUnconfigured) {
      const u = this.origin.get('origin', 'unconfigured-state');
      if (u !== undefined) throw new OstreeError('OSTREE_INVALID_ARGUMENT', `origin unconfigured-state: ${u}`);
    }
    const refspec = this.origin.get('origin', 'refspec');
    if (refspec === undefined) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'No origin/refspec in current deployment origin; cannot upgrade via ostree');
    const { remote, ref } = parseRefspec(refspec);
    this.originRemote = remote;
    this.originRef = ref;
    const csum = this.origin.get('origin', 'override-commit') ?? null;
    if (csum !== null && !isValidChecksum(csum)) throw new OstreeError('OSTREE_INVALID_CHECKSUM', `Invalid checksum of length ${csum.length} expected 64`);
    this.overrideCsum = csum;
  }

  /** Replace the origin the new deployment gets (re-parses refspec and override-commit). */
  setOrigin(origin: KeyFile): void {
    this.origin = origin;
    this.parseRefspec();
  }

  private get originRefspec(): string {
    return this.originRemote ? `${this.originRemote}:${this.originRef}` : this.originRef;
  }

  /** Fetch and resolve the new revision; true when it differs from the merge deployment's commit. */
  async pull(o: UpgraderPullOptions = {}): Promise<boolean> {
    const repo = await this.sysroot.repo();
    const from = this.merge.csum;
    if (this.originRemote && !o.synthetic) {
      const { pull } = await import('../pull/pull');
      await pull(repo, { remote: this.originRemote, refs: [this.overrideCsum ?? this.originRef], timestampCheckFromRev: o.allowOlder ? undefined : from, signal: o.signal });
    }
    const resolved = (await resolveRev(repo, this.originRefspec)) as string;
    const rebase = metaString(await repo.readCommit(resolved), 'ostree.endoflife-rebase');
    if (rebase) {
      if (this.originRemote && !o.synthetic) {
        const { pull } = await import('../pull/pull');
        await pull(repo, { remote: this.originRemote, refs: [rebase], signal: o.signal });
      }
      this.originRef = rebase;
      this.origin.set('origin', 'refspec', this.originRefspec);
    }
    if (this.overrideCsum) {
      await setRef(repo, this.originRefspec, this.overrideCsum);
      this.newRevision = this.overrideCsum;
    } else {
      this.newRevision = (await resolveRev(repo, this.originRefspec)) as string;
    }
    if (from === this.newRevision) return false;
    if (!o.allowOlder) await checkTimestamps(repo, from, this.newRevision);
    return true;
  }

  /** Deploy the pulled revision as the new default, then clean up and prune. */
  async deploy(o: { signal?: AbortSignal } = {}): Promise<Deployment> {
    if (!this.newRevision) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'pull() must run before deploy()');
    const d = await deployTree(this.sysroot, this.newRevision, { osname: this.osname, origin: this.origin, mergeDeployment: this.merge, signal: o.signal });
    await simpleWriteDeployment(this.sysroot, this.osname, d, this.merge);
    return this.sysroot.deployments.find((x) => x.equals(d)) ?? d;
  }
}

function metaString(c: { metadata: Array<[string, { type: string; value: unknown }]> }, key: string): string | null {
  for (const [k, v] of c.metadata) if (k === key) return v.type === 's' ? (v.value as string) : null;
  return null;
}
