// ostree's fault-injection hook for tests: OSTREE_REPO_TEST_ERROR, a list of
// flags parsed as g_parse_debug_string does (separated by any of ":;, \t",
// case-insensitive, '-' and '_' alike, "all" for every flag). Each flag makes
// one operation fail at a fixed point with a fixed message, as in
// ostree-repo.c (OstreeRepoTestErrorFlags).
import { OstreeError } from '../errors';

/** The flags ostree 2022.7 knows. */
export type TestErrorFlag = 'pre-commit' | 'invalid-cache';

const FLAGS: TestErrorFlag[] = ['pre-commit', 'invalid-cache'];

/** The flags set in `env` (default: this process's OSTREE_REPO_TEST_ERROR). */
export function testErrorFlags(env: string | undefined = process.env.OSTREE_REPO_TEST_ERROR): Set<TestErrorFlag> {
  const out = new Set<TestErrorFlag>();
  if (!env) return out;
  const norm = (s: string) => s.toLowerCase().replace(/_/g, '-');
  for (const word of env.split(/[:;, \t]+/).map(norm)) {
    if (word === 'all') FLAGS.forEach((f) => out.add(f));
    else if ((FLAGS as string[]).includes(word)) out.add(word as TestErrorFlag);
  }
  return out;
}

/**
 * Throw the injected failure `flag` when it is set: an OstreeError
 * (OSTREE_ABORTED, with data.testError) whose message names
 * OSTREE_REPO_TEST_ERROR_<FLAG> as ostree's does (`message` overrides it).
 */
export function maybeTestError(flag: TestErrorFlag, message?: string): void {
  if (!testErrorFlags().has(flag)) return;
  const name = `OSTREE_REPO_TEST_ERROR_${flag.toUpperCase().replace(/-/g, '_')}`;
  throw new OstreeError('OSTREE_ABORTED', message ?? name, { data: { testError: flag } });
}
