// GOption-style command-line parsing and help output, so scripts written for
// the `ostree` CLI work unchanged: `--opt=val`, `--opt val`, `-o val`, `-oval`,
// bundled short flags, repeated options, options before or after positional
// arguments, `--` ends options. Help is laid out as GLib's goption.c does.

export type OptionArg = 'none' | 'string' | 'int' | 'strings' | 'filename';

export interface OptionSpec {
  long: string;
  short?: string;
  arg: OptionArg;
  /** Placeholder in help, e.g. PATH. */
  argName?: string;
  description: string;
  hidden?: boolean;
  /** Ours, not ostree's (`--json`): listed by `--help`, left out of the help a usage error prints, which stays ostree's. */
  extension?: boolean;
}

export interface CommandSpec {
  name: string;
  /** e.g. "REV" or "[OPTION…] COMMIT DEST" (after `[OPTION…]`). */
  params: string;
  summary: string;
  options: OptionSpec[];
  /** Whether --repo applies (and is listed). */
  repo?: boolean;
  /** Extra description after the summary (sub-command lists). */
  description?: string;
}

export interface ParsedArgs {
  opts: Record<string, string | string[] | boolean | number | undefined>;
  positional: string[];
}

/** A command-line mistake. With `showHelp`, the command's help precedes the message (ostree's usage_error). */
export class UsageError extends Error {
  readonly showHelp: boolean;
  constructor(msg: string, showHelp = false) {
    super(msg);
    this.name = 'UsageError';
    this.showHelp = showHelp;
  }
}

export const REPO_OPTION: OptionSpec = {
  long: 'repo',
  arg: 'filename',
  argName: 'PATH',
  description: 'Path to OSTree repository (defaults to current directory or /sysroot/ostree/repo)',
};
export const VERBOSE_OPTION: OptionSpec = { long: 'verbose', short: 'v', arg: 'none', description: 'Print debug information during command processing' };
export const VERSION_OPTION: OptionSpec = { long: 'version', arg: 'none', description: 'Print version information and exit' };
const HELP_OPTION: OptionSpec = { long: 'help', short: 'h', arg: 'none', description: 'Show help options' };

export function allOptions(spec: CommandSpec): OptionSpec[] {
  // A command that uses -v itself (`summary -v` = --view) keeps only --verbose.
  const verbose = spec.options.some((o) => o.short === 'v') ? { ...VERBOSE_OPTION, short: undefined } : VERBOSE_OPTION;
  return [...(spec.repo ? [REPO_OPTION] : []), ...spec.options, verbose, VERSION_OPTION];
}

export function parseArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  const options = [...allOptions(spec), HELP_OPTION];
  const byLong = new Map(options.map((o) => [o.long, o]));
  const byShort = new Map(options.filter((o) => o.short).map((o) => [o.short as string, o]));
  const opts: ParsedArgs['opts'] = {};
  const positional: string[] = [];
  const set = (o: OptionSpec, val: string | undefined) => {
    switch (o.arg) {
      case 'none':
        opts[o.long] = true;
        break;
      case 'int': {
        if (val === undefined || !/^-?\d+$/.test(val.trim())) {
          throw new UsageError(`Cannot parse integer value “${val ?? ''}” for --${o.long}`);
        }
        opts[o.long] = Number(val);
        break;
      }
      case 'strings': {
        const cur = (opts[o.long] as string[] | undefined) ?? [];
        cur.push(val as string);
        opts[o.long] = cur;
        break;
      }
      default:
        opts[o.long] = val as string;
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const o = byLong.get(name);
      // GLib names the whole argument, `=value` included.
      if (!o) throw new UsageError(`Unknown option ${a}`);
      if (o.arg === 'none') {
        // GLib ignores a value given to a flag: `--gpg-verify=false` still sets it.
        set(o, undefined);
      } else if (eq >= 0) {
        set(o, a.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw new UsageError(`Missing argument for ${a}`);
        set(o, argv[++i]);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const o = byShort.get(a[j]);
        if (!o) throw new UsageError(`Unknown option ${a}`);
        if (o.arg === 'none') {
          set(o, undefined);
          continue;
        }
        const rest = a.slice(j + 1);
        if (rest.length) set(o, rest);
        else {
          if (i + 1 >= argv.length) throw new UsageError(`Missing argument for -${a[j]}`);
          set(o, argv[++i]);
        }
        break;
      }
      continue;
    }
    positional.push(a);
  }
  return { opts, positional };
}

function strwidth(s: string): number {
  return [...s].length;
}

/** GLib's g_option_context_get_help() layout for one command. */
export function formatHelp(spec: CommandSpec, prog = 'ostree', opts: { extensions?: boolean } = {}): string {
  const options = allOptions(spec).filter((o) => !o.hidden && (opts.extensions || !o.extension));
  let max = strwidth('-?, --help');
  for (const o of [...options]) {
    let len = strwidth(o.long);
    if (o.short) len += 4;
    if (o.arg !== 'none' && o.argName) len += 1 + strwidth(o.argName);
    max = Math.max(max, len);
  }
  max += 4;
  const entry = (o: OptionSpec) => {
    let s = o.short ? `  -${o.short}, --${o.long}` : `  --${o.long}`;
    if (o.arg !== 'none' && o.argName) s += `=${o.argName}`;
    const pad = Math.max(0, max + 4 - strwidth(s));
    return `${s}${' '.repeat(pad)} ${o.description}\n`;
  };
  let out = 'Usage:\n';
  const cmd = spec.name ? `${prog} ${spec.name}` : prog;
  out += `  ${cmd} [OPTION…]${spec.params ? ' ' + spec.params : ''}\n\n`;
  if (spec.summary) out += `${spec.summary}\n\n`;
  if (spec.description) out += `${spec.description}\n\n`;
  out += 'Help Options:\n';
  out += entry(HELP_OPTION);
  out += '\nApplication Options:\n';
  for (const o of options) out += entry(o);
  out += '\n';
  return out;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function strs(v: unknown): string[] {
  return Array.isArray(v) ? (v as string[]) : [];
}
