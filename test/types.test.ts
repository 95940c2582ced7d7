// The published typings, as consumers see them: `import` (dist/index.d.mts)
// and `require` (dist/index.d.ts) through the package's "exports", under
// TypeScript's node16 and bundler module resolution; and the README's API
// examples compile against them. Needs the build (npm test builds first).
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const DIR = path.join(__dirname, 'types');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** The ```ts blocks of README's API section. */
function readmeExamples(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const api = readme.slice(readme.indexOf('\n## API\n'), readme.indexOf('\n### Progress\n'));
  return [...api.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

function tsc(config: object, files: string[]): { status: number | null; out: string } {
  const work = mkdtempSync(path.join(DIR, '.tsc-'));
  try {
    const cfg = path.join(work, 'tsconfig.json');
    writeFileSync(cfg, JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'es2022', types: ['node'], skipLibCheck: false, ...config }, files }));
    const r = spawnSync(process.execPath, [TSC, '-p', cfg], { cwd: ROOT, encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

describe('published typings', () => {
  let readmeFiles: string[] = [];
  beforeAll(() => {
    expect(existsSync(path.join(ROOT, 'dist', 'index.d.mts')), 'npm run build first').toBe(true);
    readmeFiles = readmeExamples().map((code, i) => {
      const f = path.join(DIR, `.readme-${i}.mts`);
      writeFileSync(f, `// Generated from README.md by test/types.test.ts.\n${code}export {};\n`);
      return f;
    });
  });

  it('the README has API examples to check', () => {
    expect(readmeFiles.length).toBeGreaterThan(0);
  });

  it('compile under moduleResolution node16 (ESM and CommonJS consumers)', () => {
    const r = tsc({ module: 'node16', moduleResolution: 'node16' }, [...readmeFiles, path.join(DIR, 'esm-default.mts'), path.join(DIR, 'cjs.cts')]);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);

  it('compile under moduleResolution bundler', () => {
    const r = tsc({ module: 'esnext', moduleResolution: 'bundler' }, [...readmeFiles, path.join(DIR, 'esm-default.mts')]);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);

  it('a wrong use is a type error (the check can fail)', () => {
    const bad = path.join(DIR, '.bad.mts');
    writeFileSync(bad, "import { checkout } from 'node-ostree';\nawait checkout('not a repo', 'ref', '/tmp/x');\nexport {};\n");
    try {
      const r = tsc({ module: 'node16', moduleResolution: 'node16' }, [bad]);
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/TS2345/);
    } finally {
      rmSync(bad, { force: true });
    }
  }, 60_000);
});
