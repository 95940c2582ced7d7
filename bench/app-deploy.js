#!/usr/bin/env node
'use strict';
// One app deployment, as the `app-deploy` scenario of bench/run.js times it:
//   node bench/app-deploy.js REPO INSTALL [REV]
// opens INSTALL (creating it) over the bare-user REPO, deploys REV (default
// main) as a hardlinked checkout and switches `current` to it. Prints
// {"name", "deployMs"} (deployMs: the deploy call alone, without process
// start and open).
const { Repo, AppDeployments } = require('../dist/index.js');

(async () => {
  const [repoPath, install, rev = 'main'] = process.argv.slice(2);
  const repo = await Repo.open(repoPath);
  const app = await AppDeployments.open(install, { repo });
  const t0 = performance.now();
  const d = await app.deploy(rev);
  process.stdout.write(JSON.stringify({ name: d.name, deployMs: Math.round(performance.now() - t0) }) + '\n');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
