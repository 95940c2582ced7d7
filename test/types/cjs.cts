// CommonJS consumers: require() gives the same API, typed.
import ostree = require('node-ostree');

async function main(): Promise<void> {
  const repo = await ostree.Repo.open('/var/lib/app/repo');
  const r: ostree.CommitResult = await ostree.commit(repo, { branch: 'b', trees: [{ dir: '.' }] });
  const p: ostree.Progress = { phase: 'content', loaded: 1, total: null, unit: 'files' };
  const err: ostree.ErrorCode = 'OSTREE_LOCKED';
  void r;
  void p;
  void err;
}
void main;
