// `ostree --version`: the YAML document scripts parse (and grep for features)
// to decide what to run. Same shape and libostree version as ostree 2022.7.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { SKIP_INTEROP, ostree, ours, ok, CLI } from './helpers/interop';

/** Parse the two-level YAML ostree prints: `name:` / ` Key: 'v'` / ` Features:` / `  - f`. */
function parseVersionDoc(text: string): Record<string, { Version?: string; Features: string[]; keys: string[] }> {
  const doc: Record<string, { Version?: string; Features: string[]; keys: string[] }> = {};
  let cur: { Version?: string; Features: string[]; keys: string[] } | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^([a-z-]+):$/))) doc[m[1]] = cur = { Features: [], keys: [] };
    else if (cur && (m = line.match(/^ ([A-Za-z]+):(?: '(.*)')?$/))) {
      cur.keys.push(m[1]);
      if (m[1] === 'Version') cur.Version = m[2];
    } else if (cur && (m = line.match(/^ {2}- ([a-z0-9-]+)$/))) cur.Features.push(m[1]);
    else throw new Error(`unexpected --version line: ${JSON.stringify(line)}`);
  }
  return doc;
}

const HAVE_PY_YAML = spawnSync('python3', ['-c', 'import yaml']).status === 0;

describe.skipIf(SKIP_INTEROP)('--version', () => {
  const theirs = parseVersionDoc(ok(ostree(['--version'])) + '\n');
  const mine = ok(ours(['--version'])) + '\n';
  const doc = parseVersionDoc(mine);

  it('starts with the libostree document, with the same version and keys as ostree', () => {
    expect(mine.startsWith('libostree:\n')).toBe(true);
    expect(doc.libostree.Version).toBe(theirs.libostree.Version);
    expect(doc.libostree.keys).toEqual(theirs.libostree.keys);
  });

  it('lists only ostree feature names, gpgme and sign-ed25519 among them', () => {
    // ostree's names (configure.ac); Debian's build lacks sign-ed25519 only for want of libsodium.
    const known = new Set([...theirs.libostree.Features, 'sign-ed25519', 'composefs', 'libsoup3', 'no-http2']);
    for (const f of doc.libostree.Features) expect(known.has(f), f).toBe(true);
    expect(doc.libostree.Features).toContain('gpgme');
    expect(doc.libostree.Features).toContain('sign-ed25519');
  });

  it('adds our own version as an extra key', () => {
    expect(doc['node-ostree'].Version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('is the same after a command name', () => {
    expect(ok(ours(['refs', '--version'])) + '\n').toBe(mine);
  });

  it.skipIf(!HAVE_PY_YAML)('is valid YAML (python3-yaml)', () => {
    const py = spawnSync('python3', ['-c', 'import sys, yaml; d = yaml.safe_load(sys.stdin); print(d["libostree"]["Version"])'], {
      input: mine,
    });
    expect(py.stdout.toString().trim()).toBe(theirs.libostree.Version);
  });

  it('survives `| grep -q` under pipefail (one write, no SIGPIPE death)', () => {
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${CLI}" --version | grep -q -e '- gpgme'`]);
    expect(r.status).toBe(0);
  });
});
