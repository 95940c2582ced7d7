// External commands: `ostree FOO ARGS` runs `ostree-FOO` from $PATH when FOO
// is no builtin, with the whole argument list, its exit status passed on —
// the same as ostree does; without one, "Unknown command" as before.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import * as path from 'node:path';
import { SKIP_INTEROP, tmpdir, cleanupTmp, ostree, ours } from './helpers/interop';

afterAll(cleanupTmp);

describe.skipIf(SKIP_INTEROP)('external commands (ostree-FOO on PATH)', () => {
  const d = tmpdir();
  const bin = path.join(d, 'localbin');
  mkdirSync(bin);
  const script = (name: string, body: string) => {
    writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };
  script('ostree-hello', 'echo "args: $*"; echo "flag=$A_CUSTOM_TEST_FLAG" >&2; exit 3');
  script('ostree-cat', 'echo "never run: cat is a builtin"');
  writeFileSync(path.join(bin, 'ostree-broken'), '#!/nonexistent/interpreter\n');
  chmodSync(path.join(bin, 'ostree-broken'), 0o755);
  const env = { PATH: `./localbin/:${process.env.PATH}`, A_CUSTOM_TEST_FLAG: 'myvalue' };

  for (const args of [['hello', 'a', '--b'], ['--repo=x', 'hello'], ['broken'], ['nosuchcommand'], ['cat', '--help']]) {
    it(args.join(' '), () => {
      const a = ostree(args, { cwd: d, env });
      const b = ours(args, { cwd: d, env });
      expect(b.status).toBe(a.status);
      expect(b.stdout).toBe(a.stdout);
      const last = (s: string) => s.trim().split('\n').pop();
      expect(last(b.stderr)).toBe(last(a.stderr));
    });
  }
});
