// The API reference's sources: every function and class exported from
// lib/index.ts has a TSDoc comment with an @example (typedoc turns them into
// docs/api), the public methods of Repo have a comment, and every @example
// compiles against the published typings. An example may use two names it
// does not define, as the README's do: `repo` (an open Repo) and `checksum`
// (a commit checksum); everything else it imports from 'node-ostree'.
// Needs the build (npm test builds first).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '..');
const INDEX = path.join(ROOT, 'lib', 'index.ts');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

interface Documented {
  /** The exported name (an alias where index.ts renames). */
  name: string;
  file: string;
  doc: string | null;
  examples: string[];
}

/** The text of a /** comment without its delimiters and leading ` * `. */
function commentText(raw: string): string {
  return raw
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n');
}

/** The @example blocks of a comment: from the tag to the next tag or the end. */
function examplesOf(doc: string): string[] {
  const out: string[] = [];
  const lines = doc.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^@example\b/.test(lines[i])) continue;
    const block: string[] = [lines[i].replace(/^@example\s*/, '')];
    while (i + 1 < lines.length && !/^@\w/.test(lines[i + 1])) block.push(lines[++i]);
    out.push(block.join('\n').trim());
  }
  return out;
}

function docOf(node: ts.Node): string | null {
  const docs = ts.getJSDocCommentsAndTags(node).filter((d) => ts.isJSDoc(d));
  return docs.length ? docs.map((d) => commentText(d.getText())).join('\n') : null;
}

const parsed = new Map<string, ts.SourceFile>();
function parse(file: string): ts.SourceFile {
  let sf = parsed.get(file);
  if (!sf) {
    sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    parsed.set(file, sf);
  }
  return sf;
}

function isExported(node: ts.Node): boolean {
  return ts.canHaveModifiers(node) && !!ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/**
 * The declaration `name` exported by `file`, following `export { … } from`
 * (the syntax alone: much faster than a type checker over the whole library).
 */
function resolveExport(file: string, name: string, depth = 0): ts.Node | null {
  if (depth > 10) return null;
  const sf = parse(file);
  for (const st of sf.statements) {
    if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isEnumDeclaration(st)) && st.name?.text === name && isExported(st)) return st;
    if (ts.isVariableStatement(st) && isExported(st) && st.declarationList.declarations.some((d) => ts.isIdentifier(d.name) && d.name.text === name)) return st;
  }
  for (const st of sf.statements) {
    if (!ts.isExportDeclaration(st) || !st.moduleSpecifier || !st.exportClause || !ts.isNamedExports(st.exportClause)) continue;
    for (const el of st.exportClause.elements) {
      if (el.name.text !== name) continue;
      const spec = path.resolve(path.dirname(file), (st.moduleSpecifier as ts.StringLiteral).text);
      // './dir' names dir/index.ts when there is no dir.ts.
      const target = existsSync(spec + '.ts') ? spec + '.ts' : path.join(spec, 'index.ts');
      return resolveExport(target, (el.propertyName ?? el.name).text, depth + 1);
    }
  }
  return null;
}

/** Functions and classes exported from lib/index.ts (values and `export type` alike), with their docs. */
function exportedApi(): { api: Documented[]; unresolved: string[]; repoMethods: Array<{ name: string; doc: string | null }> } {
  const api: Documented[] = [];
  const unresolved: string[] = [];
  let repoMethods: Array<{ name: string; doc: string | null }> = [];
  for (const st of parse(INDEX).statements) {
    // `export * as gvariant` (the codec namespace) is documented by its module.
    if (!ts.isExportDeclaration(st) || !st.exportClause || !ts.isNamedExports(st.exportClause)) continue;
    for (const el of st.exportClause.elements) {
      const decl = resolveExport(INDEX, el.name.text);
      if (!decl) {
        unresolved.push(el.name.text);
        continue;
      }
      if (!ts.isFunctionDeclaration(decl) && !ts.isClassDeclaration(decl)) continue;
      const doc = docOf(decl);
      api.push({ name: el.name.text, file: path.relative(ROOT, decl.getSourceFile().fileName), doc, examples: doc ? examplesOf(doc) : [] });
      if (el.name.text === 'Repo' && ts.isClassDeclaration(decl)) {
        repoMethods = decl.members
          .filter((m) => (ts.isMethodDeclaration(m) || ts.isGetAccessorDeclaration(m)) && ts.isIdentifier(m.name))
          .filter((m) => !(ts.getCombinedModifierFlags(m as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)))
          .map((m) => ({ name: (m.name as ts.Identifier).text, doc: docOf(m) }));
      }
    }
  }
  return { api, unresolved, repoMethods };
}

/**
 * An example as a module of its own: its imports stay on top, `repo` and
 * `checksum` are declared, and its body runs in a block so it may define
 * `repo` itself.
 */
function exampleModule(ex: Documented, code: string): string {
  const lines = code.split('\n');
  const imports: string[] = [];
  const body: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^import\b/.test(lines[i])) {
      body.push(lines[i]);
      continue;
    }
    // An import may span lines up to its `from '…';`.
    const start = i;
    while (!/\bfrom\s+['"][^'"]+['"];?\s*$/.test(lines[i]) && i + 1 < lines.length) i++;
    imports.push(...lines.slice(start, i + 1));
  }
  return [
    `// Generated from the TSDoc of ${ex.name} (${ex.file}) by test/docs.test.ts.`,
    "import type { Repo as ExampleRepo } from 'node-ostree';",
    ...imports,
    'declare const repo: ExampleRepo;',
    'declare const checksum: string;',
    '{',
    ...body,
    '}',
    'export {};',
    '',
  ].join('\n');
}

function tsc(dir: string, files: string[]): { status: number | null; out: string } {
  const cfg = path.join(dir, 'tsconfig.json');
  const compilerOptions = { strict: true, noEmit: true, target: 'es2022', module: 'node16', moduleResolution: 'node16', types: ['node'], skipLibCheck: true };
  writeFileSync(cfg, JSON.stringify({ compilerOptions, files }));
  const r = spawnSync(process.execPath, [TSC, '-p', cfg], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('API reference (TSDoc of lib/index.ts exports)', () => {
  let work = '';
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('every exported function and class has a doc comment with an @example', () => {
    const { api, unresolved } = exportedApi();
    expect(unresolved, 'names of lib/index.ts this test could not follow').toEqual([]);
    expect(api.length).toBeGreaterThan(40);
    const lacking = api.filter((a) => !a.doc || a.examples.length === 0).map((a) => `${a.name} (${a.file}): ${a.doc ? 'no @example' : 'no doc comment'}`);
    expect(lacking).toEqual([]);
  });

  it('every public method of Repo has a doc comment', () => {
    const { repoMethods } = exportedApi();
    expect(repoMethods.map((m) => m.name)).toContain('readCommit');
    expect(repoMethods.filter((m) => !m.doc).map((m) => m.name)).toEqual([]);
  });

  it('docs/api has a page for every exported function and class (regenerate with npm run docs)', () => {
    const { api } = exportedApi();
    const dir = path.join(ROOT, 'docs', 'api');
    expect(existsSync(path.join(dir, 'index.html'))).toBe(true);
    // Type-only class exports (Transaction, KeyFile) are pages under interfaces/.
    const missing = api.map((a) => a.name).filter((n) => !['functions', 'classes', 'interfaces'].some((d) => existsSync(path.join(dir, d, `${n}.html`))));
    expect(missing).toEqual([]);
  });

  // One compiler run (the slow part) checks every example, plus two controls:
  // a correct one that must pass and a wrong one that must fail, so that the
  // check is seen to work.
  it('every @example compiles against the published typings (and a wrong one does not)', () => {
    expect(existsSync(path.join(ROOT, 'dist', 'index.d.mts')), 'npm run build first').toBe(true);
    // Inside the package, so that 'node-ostree' resolves to it (self-reference through "exports").
    work = mkdtempSync(path.join(ROOT, 'test', '.docs-'));
    const files: string[] = [];
    for (const ex of exportedApi().api) {
      ex.examples.forEach((code, i) => {
        const f = path.join(work, `${ex.name}-${i}.mts`);
        writeFileSync(f, exampleModule(ex, code));
        files.push(f);
      });
    }
    expect(files.length).toBeGreaterThan(40);
    const control: Documented = { name: 'control', file: 'test/docs.test.ts', doc: null, examples: [] };
    const good = path.join(work, 'control-good.mts');
    const bad = path.join(work, 'control-bad.mts');
    writeFileSync(good, exampleModule(control, "import { listRefs } from 'node-ostree';\nconst refs = await listRefs(repo);\nconsole.log(refs[0]?.checksum);"));
    // Uses a name it does not import, and passes a checksum where a Repo goes.
    writeFileSync(bad, exampleModule(control, "import { listRefs } from 'node-ostree';\nawait resolveRev(repo, 'x');\nawait listRefs(checksum);"));

    const r = tsc(work, [...files, good, bad]);
    const errors = r.out.split('\n').filter((l) => /error TS/.test(l));
    expect(r.status).not.toBe(0);
    expect(errors.filter((l) => /control-bad\.mts\(\d+,\d+\): error TS2304: Cannot find name 'resolveRev'/.test(l))).toHaveLength(1);
    expect(errors.filter((l) => /control-bad\.mts\(\d+,\d+\): error TS2345/.test(l))).toHaveLength(1);
    expect(r.out.split('\n').filter((l) => l.trim() && !/control-bad\.mts/.test(l) && !/^\s/.test(l))).toEqual([]);
  }, 60_000);
});
