// One participant of the locking stress test in test/lock-process.test.ts.
// Plain JS on the compiled library (run `npx tsc -p .` first).
//   node lock-stress.js commit REPO BRANCH COUNT WORKDIR
//     COUNT commits to BRANCH. Commit i re-uses the content of commit i-3
//     (which a `prune --refs-only --depth=0` makes unreachable), content shared
//     with the other branches, and one fresh file: exactly the objects a
//     pruner racing the writer would delete.
//   node lock-stress.js prune REPO COUNT
//     COUNT × prune --refs-only --depth=0.
// Prints one JSON line per operation; exits 1 on the first failure.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { setTimeout: sleep } = require('node:timers/promises');
const { Repo, commit } = require('../../dist/index.js');
const { prune } = require('../../dist/prune.js');

function writeTree(dir, branch, i) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  for (let k = 0; k < 12; k++) fs.writeFileSync(path.join(dir, `own-${k}`), `${branch} file ${k} generation ${i % 3}\n`);
  for (let k = 0; k < 12; k++) fs.writeFileSync(path.join(dir, 'sub', `shared-${k}`), `shared file ${k} generation ${i % 2}\n`);
  fs.writeFileSync(path.join(dir, 'fresh'), randomBytes(4096));
}

async function main() {
  const [mode, repoPath, ...rest] = process.argv.slice(2);
  const repo = await Repo.open(repoPath);
  if (mode === 'commit') {
    const [branch, count, workdir] = rest;
    const dir = path.join(workdir, branch.replace(/\//g, '_'));
    for (let i = 0; i < Number(count); i++) {
      writeTree(dir, branch, i);
      const r = await commit(repo, { branch, trees: [{ dir }], subject: `${branch} #${i}` });
      console.log(JSON.stringify({ op: 'commit', branch, i, checksum: r.checksum }));
    }
  } else if (mode === 'prune') {
    for (let i = 0; i < Number(rest[0]); i++) {
      const r = await prune(repo, { refsOnly: true, depth: 0 });
      console.log(JSON.stringify({ op: 'prune', i, pruned: r.pruned }));
      await sleep(5);
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((err) => {
  console.error(`${err.code ?? ''} ${err.stack}`);
  process.exit(1);
});
