// Kernel command-line arguments, as ostree-kernel-args.c (2022.7) handles
// them: an ordered list of `key` / `key=value` entries plus a per-key index.
// Splitting is on single spaces only (g_strsplit: "a  b" keeps an empty
// argument between the two spaces, and it survives toString()); 2022.7 knows
// nothing about quotes, so `a="b c"` is the two arguments `a="b` and `c"`.
// Error messages are ostree's; codes: OSTREE_NOT_FOUND for a missing key or
// value, OSTREE_INVALID_ARGUMENT for an ambiguous key.
import { OstreeError } from '../errors';

/** Prefixes ostree drops when importing /proc/cmdline (GRUB 2, sd-boot). */
export const PROC_CMDLINE_FILTERED_PREFIXES: readonly string[] = ['BOOT_IMAGE=', 'initrd='];

interface Entry {
  key: string;
  /** null for a bare `key`; '' for `key=`. */
  value: string | null;
}

function splitKeyEq(arg: string): Entry {
  const eq = arg.indexOf('=');
  if (eq < 0) return { key: arg, value: null };
  return { key: arg.slice(0, eq), value: arg.slice(eq + 1) };
}

/** g_strsplit(s, " ", -1): an empty string gives no pieces at all. */
function splitSpaces(s: string): string[] {
  return s === '' ? [] : s.split(' ');
}

/** g_strchomp: strip trailing ASCII whitespace. */
function chomp(s: string): string {
  return s.replace(/[ \t\n\v\f\r]+$/, '');
}

function notFound(message: string, data: Record<string, unknown>): OstreeError {
  return new OstreeError('OSTREE_NOT_FOUND', message, { data });
}

/**
 * An editable kernel command line with ostree's `--karg`, `--karg-append` and
 * `--karg-delete` semantics (ostree-kernel-args.c). Arguments keep their order;
 * a key may repeat (`console=tty0 console=ttyS0`).
 *
 * @example
 * import { KernelArgs } from 'node-ostree';
 * const k = KernelArgs.parse('root=/dev/vda1 quiet console=tty0');
 * k.append('console=ttyS0');   // --karg-append
 * k.replace('root=LABEL=root'); // --karg
 * k.delete('quiet');            // --karg-delete
 * k.toString(); // 'root=LABEL=root console=tty0 console=ttyS0'
 */
export class KernelArgs {
  private readonly order: Entry[] = [];
  private readonly table = new Map<string, Entry[]>();

  /** Parse a space-separated command line (ostree_kernel_args_from_string). */
  static parse(cmdline: string | null | undefined): KernelArgs {
    const k = new KernelArgs();
    if (cmdline != null) k.appendArgv(splitSpaces(cmdline));
    return k;
  }

  /** Build from an argument vector, each appended in turn. */
  static fromArgv(argv: readonly string[]): KernelArgs {
    const k = new KernelArgs();
    k.appendArgv(argv);
    return k;
  }

  /** Append one argument, keeping any earlier values of its key (`--karg-append`). */
  append(arg: string): this {
    const entry = splitKeyEq(arg);
    let entries = this.table.get(entry.key);
    if (!entries) {
      entries = [];
      this.table.set(entry.key, entries);
    }
    entries.push(entry);
    this.order.push(entry);
    return this;
  }

  appendArgv(argv: readonly string[], filteredPrefixes: readonly string[] = []): this {
    for (const arg of argv) {
      if (!filteredPrefixes.some((p) => arg.startsWith(p))) this.append(arg);
    }
    return this;
  }

  /** Append only if the key is not present yet (ostree_kernel_args_append_if_missing). */
  appendIfMissing(arg: string): this {
    if (!this.has(arg)) this.append(arg);
    return this;
  }

  /**
   * Append the arguments of a /proc/cmdline text (trailing whitespace removed,
   * split on spaces, `BOOT_IMAGE=` and `initrd=` dropped), as `--karg-proc-cmdline`.
   */
  appendProcCmdline(cmdlineText: string): this {
    return this.appendArgv(splitSpaces(chomp(cmdlineText)), PROC_CMDLINE_FILTERED_PREFIXES);
  }

  /**
   * Set an argument, replacing every value of its key (`--karg`): the new
   * entry takes the place of the key's first occurrence; a new key is appended.
   */
  replace(arg: string): this {
    const entry = splitKeyEq(arg);
    const old = this.table.get(entry.key);
    if (!old) {
      this.table.set(entry.key, [entry]);
      this.order.push(entry);
      return this;
    }
    const at = this.order.findIndex((e) => e.key === entry.key);
    this.removeFromOrder(old);
    this.order.splice(at, 0, entry);
    this.table.set(entry.key, [entry]);
    return this;
  }

  replaceArgv(argv: readonly string[]): this {
    for (const arg of argv) this.replace(arg);
    return this;
  }

  /**
   * Change one existing value in place (ostree_kernel_args_new_replace):
   * `key=new` when the key has a single value, `key=old=new` to pick one of
   * several. Missing key or value: OSTREE_NOT_FOUND; `key=new` on a key with
   * several values: OSTREE_INVALID_ARGUMENT.
   */
  replaceValue(arg: string): this {
    const { key, value } = splitKeyEq(arg);
    const entries = this.table.get(key);
    if (!entries) throw notFound(`No key '${key}' found`, { key });
    if (value !== null && value.includes('=')) {
      const { key: oldVal, value: newVal } = splitKeyEq(value);
      const e = entries.find((x) => x.value === oldVal);
      if (!e) throw notFound(`No karg '${key}=${oldVal}' found`, { key, value: oldVal });
      e.value = newVal;
      return this;
    }
    if (entries.length > 1) {
      throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Multiple values for key '${key}' found`, { data: { key } });
    }
    entries[0].value = value;
    return this;
  }

  /**
   * Remove one argument (`--karg-delete`). `key` alone removes a key that has
   * a single value, or the bare `key` among several; `key=value` removes one
   * matching entry. Missing key or value: OSTREE_NOT_FOUND (`No key 'k'
   * found`, `No karg 'k=v' found`); a bare key with only valued entries:
   * OSTREE_INVALID_ARGUMENT (`Multiple values for key 'k' found`).
   */
  delete(arg: string): this {
    const { key, value } = splitKeyEq(arg);
    const entries = this.table.get(key);
    if (!entries) throw notFound(`No key '${key}' found`, { key });
    if (entries.length === 1) {
      if (value !== null && value !== entries[0].value) {
        throw notFound(`No karg '${key}=${value}' found`, { key, value });
      }
      return this.deleteKey(key);
    }
    const i = entries.findIndex((e) => e.value === value);
    if (i < 0) {
      if (value === null) {
        throw new OstreeError('OSTREE_INVALID_ARGUMENT', `Multiple values for key '${arg}' found`, { data: { key } });
      }
      throw notFound(`No karg '${arg}' found`, { key, value });
    }
    this.removeFromOrder([entries[i]]);
    entries.splice(i, 1);
    return this;
  }

  /** Remove every value of a key (ostree_kernel_args_delete_key_entry). */
  deleteKey(key: string): this {
    const entries = this.table.get(key);
    if (!entries) throw notFound(`No key '${key}' found`, { key });
    this.removeFromOrder(entries);
    this.table.delete(key);
    return this;
  }

  /** delete() when the argument's key is present, else nothing. */
  deleteIfPresent(arg: string): this {
    if (this.has(arg)) this.delete(arg);
    return this;
  }

  /** Whether the key of `arg` (`key` or `key=…`) is present. */
  has(arg: string): boolean {
    return this.table.has(splitKeyEq(arg).key);
  }

  /**
   * The last value of a key (ostree_kernel_args_get_last_value): `undefined`
   * if absent, `null` for a bare `key`, '' for `key=`.
   */
  get(key: string): string | null | undefined {
    const entries = this.table.get(key);
    return entries ? entries[entries.length - 1].value : undefined;
  }

  /** Every value of a key, in command-line order. */
  getAll(key: string): (string | null)[] {
    return (this.table.get(key) ?? []).map((e) => e.value);
  }

  /** The arguments in order, `key` or `key=value` (ostree_kernel_args_to_strv). */
  toArgv(): string[] {
    return this.order.map((e) => (e.value === null ? e.key : `${e.key}=${e.value}`));
  }

  /** The arguments joined by single spaces (ostree_kernel_args_to_string). */
  toString(): string {
    return this.toArgv().join(' ');
  }

  private removeFromOrder(entries: readonly Entry[]): void {
    for (const e of entries) {
      const i = this.order.indexOf(e);
      if (i >= 0) this.order.splice(i, 1);
    }
  }
}
