// `npm run demo`: an end-to-end run on an embedded default. Creates a repo in a
// temp dir, commits a generated tree twice, shows the log and the diff,
// checks the second commit out, verifies the repo with fsck and prints what
// happened. Pass a directory to keep the result: `npm run demo -- /tmp/out`.
//
// It uses only the package's public API, as an application would: run
// `npm run build` first (npm run demo does).
'use strict';
const { promises: fsp } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Repo, commit, checkout, resolveRev, diffTrees, formatDiff, fsck, commitContentChecksum } = require('node-ostree');

/** A small OS-like tree: binaries, config, docs, symlinks, an empty dir. */
async function generateTree(root, version) {
  let n = 0;
  const file = async (rel, data, mode = 0o644) => {
    const p = path.join(root, rel);
    await fsp.mkdir(path.dirname(p), { recursive: true });
    await fsp.writeFile(p, data);
    await fsp.chmod(p, mode);
    n++;
  };
  for (let i = 0; i < 40; i++) await file(`usr/bin/tool${i}`, `#!/bin/sh\necho tool ${i} v${i % 7 === 0 ? version : 1}\n`, 0o755);
  for (let i = 0; i < 60; i++) await file(`usr/share/doc/pkg${i % 12}/README.${i}`, `Package ${i} documentation.\n`.repeat(20 + i));
  const blob = Buffer.alloc(256 * 1024);
  for (let i = 0; i < blob.length; i++) blob[i] = (i * 2654435761) >>> 24;
  await file('usr/lib/libdemo.so.1', blob, 0o755);
  await file('etc/os-release', `NAME="Demo OS"\nVERSION_ID=${version}\n`);
  await file('etc/demo.conf', version === 1 ? 'feature=off\n' : 'feature=on\nextra=yes\n', 0o600);
  if (version > 1) await file('usr/bin/newtool', '#!/bin/sh\necho new\n', 0o755);
  await fsp.mkdir(path.join(root, 'var', 'empty'), { recursive: true });
  await fsp.symlink('libdemo.so.1', path.join(root, 'usr/lib/libdemo.so'));
  await fsp.symlink('usr/bin', path.join(root, 'bin'));
  return n;
}

function fmtDate(ts) {
  return new Date(Number(ts) * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000');
}

async function demo(outDir) {
  const base = outDir ? path.resolve(outDir) : await fsp.mkdtemp(path.join(os.tmpdir(), 'node-ostree-demo-'));
  await fsp.mkdir(base, { recursive: true });
  const say = (s = '') => process.stdout.write(s + '\n');
  const t0 = Date.now();
  say(`node-ostree demo in ${base}`);

  const repo = await Repo.create(path.join(base, 'repo'), { mode: 'bare-user' });
  say(`1. init: ${repo.mode} repository at ${repo.path}`);

  const results = [];
  for (const version of [1, 2]) {
    const tree = path.join(base, `tree-v${version}`);
    const files = await generateTree(tree, version);
    const r = await commit(repo, {
      branch: 'demo/stable',
      trees: [{ dir: tree }],
      subject: `Demo OS ${version}.0`,
      body: version === 1 ? 'Initial import' : 'Turn the feature on, add newtool',
      metadata: [['version', { type: 's', value: `${version}.0` }]],
      timestamp: BigInt(1700000000 + version * 86400),
    });
    results.push(r);
    say(`${version + 1}. commit v${version}: ${files} files -> ${r.checksum}`);
    say(`   objects: ${r.stats.contentWritten} content and ${r.stats.metadataWritten} metadata written, ${r.stats.contentTotal - r.stats.contentWritten} content reused`);
  }

  say('4. log demo/stable:');
  let cur = await resolveRev(repo, 'demo/stable');
  while (cur) {
    const c = await repo.readCommit(cur);
    say(`   commit ${cur}`);
    say(`   ContentChecksum:  ${commitContentChecksum(c)}`);
    say(`   Date:  ${fmtDate(c.timestamp)}`);
    say(`       ${c.subject}`);
    cur = c.parent;
  }

  const d = await diffTrees(repo, 'demo/stable^', 'demo/stable');
  say(`5. diff demo/stable^ demo/stable: ${d.modified.length} modified, ${d.added.length} added, ${d.removed.length} removed`);
  for (const line of formatDiff(d).trimEnd().split('\n')) say(`   ${line}`);

  const co = path.join(base, 'checkout');
  const res = await checkout(repo, results[1].checksum, co, { mode: 'user' });
  say(`6. checkout -U: ${res.linked} hardlinked, ${res.copied} copied, ${res.dirs} directories -> ${co}`);
  const conf = await fsp.readFile(path.join(co, 'etc/demo.conf'), 'utf8');
  say(`   etc/demo.conf now reads: ${JSON.stringify(conf)}`);

  const f = await fsck(repo);
  say(`7. fsck: ${f.commitsVerified} commits, ${f.objectsChecked} objects verified, ${f.issues.length} problems -> ${f.ok ? 'OK' : 'DAMAGED'}`);
  say(`done in ${Date.now() - t0} ms`);
  if (!f.ok) process.exitCode = 1;
  if (!outDir) await fsp.rm(base, { recursive: true, force: true });
}

module.exports = { demo };

if (require.main === module) {
  demo(process.argv[2]).catch((err) => {
    process.stderr.write(`demo failed: ${err.stack ?? err}\n`);
    process.exitCode = 1;
  });
}
