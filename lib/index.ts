// Public entry point of node-ostree.
export { OstreeError, ErrorCodes } from './errors';
export type { ErrorCode } from './errors';
export { Repo, REPO_MODES } from './repo/repo';
export type { RepoMode, CreateOptions, ContentObject } from './repo/repo';
export { KeyFile } from './repo/keyfile';
export { Transaction, withTransaction } from './repo/transaction';
export { RepoLock, repoLock, withRepoLock } from './lock';
export type { LockType, LockOptions } from './lock';
export { commit, MutableTree, writeCommit, writeDirectoryToMtree } from './commit/commit';
export type { CommitOptions, CommitResult, CommitModifier, Progress } from './commit/commit';
export { checkout } from './checkout/checkout';
export type { CheckoutOptions, CheckoutResult } from './checkout/checkout';
export { resolveRev, listRefs, setRef, parseRefspec, isValidRefName } from './refs/refs';
export type { RefEntry } from './refs/refs';
export * as gvariant from './gvariant/codec';
export * from './objects/formats';
