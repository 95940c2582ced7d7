// The whole app-deployment cycle as whoever runs it (the test runs it as
// `nobody`): `node app-nonroot-child.js DIR` creates a bare-user repo in
// DIR/inst/repo, commits two versions of a small tree (a 0555 directory, a
// 0700 one, executables, a symlink, a config dir), deploys both with the
// config dir merged, rolls back, rolls forward, cleans up, and prints a JSON
// report. Plain JS on the compiled library.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Repo, commit, AppDeployments } = require('../../dist/index.js');

function tree(dir, v) {
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'private'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'ro'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'bin', 'app'), `#!/bin/sh\necho v${v}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'config', 'app.conf'), `level=${v}\n`);
  fs.writeFileSync(path.join(dir, 'private', 'key'), 'k\n', { mode: 0o600 });
  fs.chmodSync(path.join(dir, 'private'), 0o700);
  fs.writeFileSync(path.join(dir, 'ro', 'data'), `data ${v}\n`);
  fs.chmodSync(path.join(dir, 'ro'), 0o555);
  fs.symlinkSync('bin/app', path.join(dir, 'run'));
}

(async () => {
  const base = process.argv[2];
  const inst = path.join(base, 'inst');
  const repo = await Repo.create(path.join(inst, 'repo'), { mode: 'bare-user' });
  const commits = [];
  for (const v of [1, 2]) {
    const t = path.join(base, `tree${v}`);
    tree(t, v);
    commits.push((await commit(repo, { branch: 'app/stable', trees: [{ dir: t }], subject: `v${v}`, metadata: [['version', { type: 's', value: `${v}.0` }]] })).checksum);
  }
  const app = await AppDeployments.open(inst, { repo });
  const d1 = await app.deploy(commits[0], { mergeDirs: ['config'] });
  fs.writeFileSync(path.join(app.currentPath, 'config', 'user.conf'), 'mine\n');
  const d2 = await app.deploy(commits[1], { mergeDirs: ['config'] });
  const back = await app.rollback();
  const fwd = await app.rollback();
  await app.deploy(commits[0]);
  const cleaned = await app.cleanup({ keep: 1, prune: true });
  const list = await app.deployments();
  console.log(
    JSON.stringify({
      uid: process.getuid(),
      commits,
      d1: d1.name,
      d2: d2.name,
      back: back.name,
      fwd: fwd.name,
      userConf: fs.readFileSync(path.join(d2.path, 'config', 'user.conf'), 'utf8'),
      removed: cleaned.removed,
      list: list.map((d) => ({ name: d.name, current: d.current, previous: d.previous })),
    }),
  );
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
