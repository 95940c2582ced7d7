// Write the CLI bundles, dist/cli/ostree.GROUP.bundle.js: the modules small
// CLI commands need, in a few files that lib/cli/bundle.ts compiles with a V8
// code cache (see there). Run by `npm run build` after tsc. A group holds its
// entries below and every module they require at load time (top-level
// requires; what a module requires lazily, inside a function, is only bundled
// when listed here), less what an earlier group has. Groups stay small: a
// process pays for reading every byte of a group it loads (about 1 ms per
// 100 KiB here). The first group also carries the index of the others. Each
// module keeps its own code, wrapped as a factory:
//   define("repo/repo.js", function (exports, require, module, __filename, __dirname) { … });
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

const dist = path.join(__dirname, '..', 'dist');
const out = (group) => path.join(dist, 'cli', `ostree.${group}.bundle.js`);

/** Group name -> entries (the builtins import the library lazily, so its modules are listed too). */
const GROUPS = {
  // rev-parse, refs, config: the driver, the repository and refs.
  core: ['cli/driver.js', 'cli/builtins/rev-parse.js', 'cli/builtins/refs.js', 'cli/builtins/config.js', 'repo/repo.js', 'refs/refs.js', 'ghash.js'],
  // show, cat, ls, log: reading objects and printing them.
  read: [
    'cli/builtins/show.js',
    'cli/builtins/cat.js',
    'cli/builtins/ls.js',
    'cli/builtins/log.js',
    'read/dump.js',
    'read/ls.js',
    'read/repo-file.js',
    'gvariant/text.js',
    'gvariant/byteswap.js',
    'format-size.js',
    'cli/output.js',
    'gpg/verify.js',
    'remotes/remotes.js',
  ],
};

const TOP_LEVEL_REQUIRE = /^(?:const|let|var) [\w$]+ = (?:__import(?:Star|Default)\()?require\("(\.{1,2}\/[^"]+)"\)|^__exportStar\(require\("(\.{1,2}\/[^"]+)"\)/gm;

function resolveId(from, request) {
  const base = path.posix.join(path.posix.dirname(from), request);
  for (const id of [base, `${base}.js`, `${base}/index.js`]) {
    const p = path.join(dist, id);
    if (id.endsWith('.js') && fs.existsSync(p) && fs.statSync(p).isFile()) return id;
  }
  throw new Error(`cli-bundle: ${from} requires ${request}, which is not in dist/`);
}

function closure(entries) {
  const seen = new Set();
  const stack = [...entries];
  while (stack.length) {
    const id = stack.pop();
    if (seen.has(id)) continue;
    if (!fs.existsSync(path.join(dist, id))) throw new Error(`cli-bundle: entry ${id} is not in dist/ (renamed? update scripts/cli-bundle.js)`);
    seen.add(id);
    const src = fs.readFileSync(path.join(dist, id), 'utf8');
    for (const m of src.matchAll(TOP_LEVEL_REQUIRE)) stack.push(resolveId(id, m[1] ?? m[2]));
  }
  return [...seen].sort();
}

function wrap(id) {
  const src = fs
    .readFileSync(path.join(dist, id), 'utf8')
    .replace(/^#!.*/, '')
    .replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
  return `define(${JSON.stringify(id)}, function (exports, require, module, __filename, __dirname) {\n${src}\n});\n`;
}

const taken = new Set();
const members = {};
for (const [group, entries] of Object.entries(GROUPS)) {
  members[group] = closure(entries).filter((id) => !taken.has(id));
  for (const id of members[group]) taken.add(id);
}
const [first] = Object.keys(GROUPS);
for (const [group, ids] of Object.entries(members)) {
  const index = group === first ? `index(${JSON.stringify(Object.fromEntries(Object.entries(members).filter(([g]) => g !== first)))});\n` : '';
  // Pure ASCII, so the loader reads it as latin1 into a one-byte string. Every
  // non-ASCII character is in a string, template, regular expression or
  // comment, where a \uXXXX escape means the same.
  const body = `(function (define, index) {\n'use strict';\n${index}${ids.map(wrap).join('')}})\n`.replace(
    /[^\x00-\x7f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  new (require('node:vm').Script)(body, { filename: out(group) }); // throws on a syntax error
  const hash = crypto.createHash('sha256').update(body).digest('hex').slice(0, 16);
  const header = `// node-ostree cli bundle ${hash}: ${ids.length} modules of dist/ made by scripts/cli-bundle.js; loaded by cli/bundle.js\n`;
  const tmp = `${out(group)}.tmp`;
  fs.writeFileSync(tmp, header + body);
  fs.renameSync(tmp, out(group));
  if (process.argv.includes('-v')) console.log(`${path.relative(process.cwd(), out(group))}: ${ids.length} modules, ${(header.length + body.length) >> 10} KiB`);
}
