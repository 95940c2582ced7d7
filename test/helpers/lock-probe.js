// Probe a repo lock from a separate process: `node lock-probe.js REPO TYPE`
// prints "free" when TYPE could be taken right now (it is released at once),
// "locked" when another holder conflicts. Plain JS on the compiled library.
'use strict';
const { Repo } = require('../../dist/index.js');

Repo.open(process.argv[2])
  .then((repo) => repo.withLock(process.argv[3], () => 'free', { timeout: 0 }))
  .then(
    (r) => console.log(r),
    (err) => {
      if (err.code !== 'OSTREE_LOCKED') throw err;
      console.log('locked');
    },
  )
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
