// Loaded with `node --require` into a child under test: writes the process's
// peak RSS (getrusage maxrss, KiB) to $NODE_OSTREE_MAXRSS_FILE as it exits.
const fs = require('node:fs');

process.on('exit', () => {
  const f = process.env.NODE_OSTREE_MAXRSS_FILE;
  if (f) fs.writeFileSync(f, String(process.resourceUsage().maxRSS));
});
