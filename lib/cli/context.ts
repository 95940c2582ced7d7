// What a builtin gets from the CLI driver (lib/cli/driver.ts): the repo it
// works on, output streams and flags common to every command. Builtins
// import these types from here, so they never import the driver that loads
// them.
import type { CommandSpec, ParsedArgs } from './options';
import type { Repo } from '../repo/repo';

export interface Ctx {
  /** Resolved --repo (or OSTREE_REPO / cwd). */
  repoPath(): string;
  openRepo(): Promise<Repo>;
  out(s: string): void;
  err(s: string): void;
  verbose: boolean;
}

export interface Builtin {
  spec: CommandSpec;
  run(args: ParsedArgs, ctx: Ctx): Promise<number | void>;
  /** Commands with sub-commands (`remote add …`): pick the sub-builtin from the arguments, or print usage and return an exit code. */
  subcommand?(argv: string[], out: (s: string) => void, err: (s: string) => void): { builtin: Builtin; argv: string[] } | number;
}
