// The kernel-argument edits of `ostree admin instutil set-kargs`
// (ot-admin-instutil-builtin-set-kargs.c) and `ostree admin kargs
// edit-in-place` (ot-admin-kargs-builtin-edit-in-place.c): from a
// deployment's BLS `options` to the new ones. Writing the deployment list or
// the entry file is the sysroot's business; these only compute.
import { KernelArgs } from './kargs';

export interface SetKargsOptions {
  /** `--import-proc-cmdline`: the text of /proc/cmdline (wins over `merge`). */
  procCmdline?: string;
  /** `--merge`: start from the first deployment's current options. */
  merge?: boolean;
  /** `--replace=NAME=VALUE`, in order. */
  replace?: readonly string[];
  /** `--append=NAME=VALUE`, in order. */
  append?: readonly string[];
  /** The positional ARGS, appended last. */
  args?: readonly string[];
}

/**
 * The kernel arguments `ostree admin instutil set-kargs` gives the first
 * deployment: empty, /proc/cmdline's (`BOOT_IMAGE=`/`initrd=` dropped) or,
 * with `merge`, `currentOptions` (its `ostree=` included: the deploy then
 * replaces that value in place), then `replace`, `append` and `args`.
 * The options written are `toString()` of the result.
 *
 * @example
 * import { instutilSetKargs } from 'node-ostree';
 * const k = instutilSetKargs('root=/dev/vda1 quiet ostree=/ostree/boot.1/os/abcd/0', {
 *   merge: true, replace: ['root=LABEL=root'], append: ['console=ttyS0'],
 * });
 * k.toString(); // 'root=LABEL=root quiet ostree=/ostree/boot.1/os/abcd/0 console=ttyS0'
 */
export function instutilSetKargs(currentOptions: string | null | undefined, opts: SetKargsOptions = {}): KernelArgs {
  const k = new KernelArgs();
  if (opts.procCmdline !== undefined) k.appendProcCmdline(opts.procCmdline);
  else if (opts.merge) k.appendArgv(currentOptions ? currentOptions.split(' ') : []);
  k.replaceArgv(opts.replace ?? []);
  k.appendArgv(opts.append ?? []);
  k.appendArgv(opts.args ?? []);
  return k;
}

/**
 * The options `ostree admin kargs edit-in-place --append-if-missing=…`
 * writes into a deployment's BLS entry (every deployment, in place, no
 * bootversion swap): each argument whose key is absent is appended.
 *
 * @example
 * import { kargsEditInPlace } from 'node-ostree';
 * kargsEditInPlace('root=/dev/vda1 quiet', ['quiet', 'console=ttyS0']); // 'root=/dev/vda1 quiet console=ttyS0'
 */
export function kargsEditInPlace(options: string | null | undefined, appendIfMissing: readonly string[]): string {
  const k = KernelArgs.parse(options);
  for (const arg of appendIfMissing) k.appendIfMissing(arg);
  return k.toString();
}
