// `ostree admin status` (ot-admin-builtin-status.c; FORMATS.md §9.12): the
// text ostree prints, and a JSON form of the same facts.
import { OstreeError } from '../errors';
import { ObjectType } from '../objects/formats';
import { parseRefspec } from '../refs/refs';
import type { Repo } from '../repo/repo';
import type { Commit } from '../objects/formats';
import { Deployment } from './deployment';
import type { Sysroot } from './sysroot';

function metaString(c: Commit | null, key: string): string | null {
  if (!c) return null;
  for (const [k, v] of c.metadata) if (k === key) return v.type === 's' ? (v.value as string) : null;
  return null;
}

async function loadCommit(repo: Repo, csum: string): Promise<Commit | null> {
  try {
    return await repo.readCommit(csum);
  } catch {
    return null;
  }
}

/** Whether the origin's remote asks for GPG verification (deployment_get_gpg_verify). */
async function gpgVerifyRemote(repo: Repo, d: Deployment): Promise<string | null> {
  const refspec = d.refspec;
  if (!refspec) return null;
  let remote: string | null;
  try {
    remote = parseRefspec(refspec).remote;
  } catch {
    return null;
  }
  if (!remote) return null;
  const { hasRemote, getRemote, remoteBool } = await import('../remotes/remotes');
  if (!(await hasRemote(repo, remote))) return null;
  return remoteBool(await getRemote(repo, remote), 'gpg-verify', true) ? remote : null;
}

export interface StatusOptions {
  /** `-V`: print the signature verification text. */
  verify?: boolean;
  out: (s: string) => void;
}

/** Print the deployment list as `ostree admin status` does. */
export async function formatStatus(sysroot: Sysroot, o: StatusOptions): Promise<void> {
  const repo = await sysroot.repo();
  const booted = sysroot.booted;
  const { pending, rollback } = booted ? sysroot.queryDeploymentsFor(null) : { pending: null, rollback: null };
  if (sysroot.deployments.length === 0) {
    o.out('No deployments.\n');
    return;
  }
  for (const d of sysroot.deployments) {
    const c = await loadCommit(repo, d.csum);
    const version = metaString(c, 'version');
    const sourceTitle = metaString(c, 'ostree.source-title');
    const state = d.staged ? ' (staged)' : d === pending ? ' (pending)' : d === rollback ? ' (rollback)' : '';
    let s = `${d === booted ? '*' : ' '} ${d.osname} ${d.name}${state}\n`;
    if (version) s += `    Version: ${version}\n`;
    if (d.unlocked !== 'none') {
      const tty = process.stdout.isTTY;
      s += `    ${tty ? '\x1b[31m\x1b[1m' : ''}Unlocked: ${d.unlocked}${tty ? '\x1b[22m\x1b[39m' : ''}\n`;
    }
    if (d.pinned) s += '    Pinned: yes\n';
    if (!d.origin) s += '    origin: none\n';
    else {
      const r = d.refspec;
      s += r ? `    origin refspec: ${r}\n` : '    origin: <unknown origin type>\n';
      if (sourceTitle) s += `    \`- ${sourceTitle}\n`;
    }
    o.out(s);
    const remote = !o.verify ? await gpgVerifyRemote(repo, d) : null;
    if (remote) {
      const detached = await repo.readDetachedMetadata(d.csum);
      if (!detached?.some(([k]) => k === 'ostree.gpgsigs')) {
        throw new OstreeError('OSTREE_GPG_VERIFY_FAILED', 'GPG verification enabled, but no signatures found (use gpg-verify=false in remote config to disable)');
      }
      const { verifyCommitGpg } = await import('../gpg/api');
      const { describeSignature } = await import('../gpg/verify');
      const bytes = (await repo.loadMetadata(ObjectType.Commit, d.csum)) as Buffer;
      const res = await verifyCommitGpg(repo, remote, d.csum, bytes, detached).catch((e) => {
        const r = (e as OstreeError).data?.result as { all: unknown[] } | undefined;
        if (r) return r as never;
        throw e;
      });
      o.out(res.all.map((sig) => describeSignature(sig, '    GPG: ')).join(''));
    }
    if (o.verify) {
      if (!c) throw new OstreeError('OSTREE_OBJECT_NOT_FOUND', 'Cannot verify, failed to load commit');
      if (!d.origin) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Cannot verify deployment with no origin');
      const r = d.refspec;
      if (!r) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'No origin/refspec, cannot verify');
      const rem = parseRefspec(r).remote;
      if (!rem) throw new OstreeError('OSTREE_INVALID_ARGUMENT', 'Cannot verify deployment without remote');
      const { signatureVerifyCommitData } = await import('../pull/verify');
      const bytes = (await repo.loadMetadata(ObjectType.Commit, d.csum)) as Buffer;
      o.out(`${await signatureVerifyCommitData(repo, rem, d.csum, bytes, await repo.readDetachedMetadata(d.csum))}\n`);
    }
  }
}

/** The facts `admin status` prints, as plain data (`admin status --json`). */
export async function statusJson(sysroot: Sysroot): Promise<unknown> {
  const repo = await sysroot.repo();
  const { pending, rollback } = sysroot.booted ? sysroot.queryDeploymentsFor(null) : { pending: null, rollback: null };
  const out = [];
  for (const d of sysroot.deployments) {
    const c = await loadCommit(repo, d.csum);
    out.push({
      index: d.index,
      osname: d.osname,
      checksum: d.csum,
      deployserial: d.deployserial,
      bootcsum: d.bootcsum,
      bootserial: d.bootserial,
      booted: d === sysroot.booted,
      pending: d === pending,
      rollback: d === rollback,
      staged: d.staged,
      pinned: d.pinned,
      unlocked: d.unlocked,
      version: metaString(c, 'version'),
      origin: d.refspec,
      kargs: d.kargs,
      path: sysroot.deploymentDirectory(d),
    });
  }
  return { bootversion: sysroot.bootversion, subbootversion: sysroot.subbootversion, deployments: out };
}
