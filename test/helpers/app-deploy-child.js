// A deploying updater in a process of its own, for the crash tests:
// `node app-deploy-child.js INSTALL REPO REV [MERGEDIR]` opens the install
// directory, prints "go" just before the deploy starts, deploys REV (and
// switches), then prints "done MS" (the deploy's duration). The test kills
// it (SIGKILL) somewhere in between, or NODE_OSTREE_FAULT=app-deploy:PHASE
// kills it at a phase. Plain JS on the compiled library.
'use strict';
const { Repo, AppDeployments } = require('../../dist/index.js');

(async () => {
  const [install, repoPath, rev, mergeDir] = process.argv.slice(2);
  const repo = await Repo.open(repoPath);
  const app = await AppDeployments.open(install, { repo, lockTimeout: 10 });
  process.stdout.write('go\n');
  const t0 = performance.now();
  await app.deploy(rev, mergeDir ? { mergeDirs: [mergeDir] } : {});
  process.stdout.write(`done ${Math.round(performance.now() - t0)}\n`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
