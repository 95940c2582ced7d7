// ES module consumers: named imports (the README examples, checked by
// test/types.test.ts) and the default export, the whole namespace.
import ostree, { OstreeError, type PullProgress, type CheckoutProgress } from 'node-ostree';

const onPull = (p: PullProgress): string => `${p.phase} ${p.loaded}/${p.total ?? '?'} ${p.unit} ${p.bytesTransferred}`;
const onCheckout = (p: CheckoutProgress): number => p.loaded;
const e: unknown = null;
if (e instanceof OstreeError) console.log(e.code, e.cause);
const repo = await ostree.Repo.open('/var/lib/app/repo');
await ostree.pull(repo, { remote: 'origin', onProgress: (p) => console.log(onPull(p)) });
await ostree.checkout(repo, 'origin:app/stable', '/tmp/x', { onProgress: onCheckout });
