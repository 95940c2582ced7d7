// Public entry point of node-ostree.
export { OstreeError, ErrorCodes } from './errors';
export type { ErrorCode } from './errors';
export { Repo, REPO_MODES } from './repo/repo';
export type { RepoMode, CreateOptions, ContentObject } from './repo/repo';
export { KeyFile } from './repo/keyfile';
export { Transaction, withTransaction } from './repo/transaction';
export { RepoLock, RepoLockHold, repoLock, withRepoLock, DEFAULT_LOCK_TIMEOUT_SECS } from './lock';
export type { LockType, LockOptions } from './lock';
export { commit, MutableTree, writeCommit, writeDirectoryToMtree } from './commit/commit';
export type { CommitOptions, CommitResult, CommitModifier, Progress } from './commit/commit';
export { checkout } from './checkout/checkout';
export type { CheckoutOptions, CheckoutResult } from './checkout/checkout';
export { resolveRev, listRefs, setRef, parseRefspec, isValidRefName } from './refs/refs';
export type { RefEntry } from './refs/refs';
export * as gvariant from './gvariant/codec';
export * from './objects/formats';
export { fsck } from './fsck';
export { markCommitPartial, clearCommitPartial } from './repo/commit-partial';
export type { FsckOptions, FsckResult, FsckIssue, FsckProgress } from './fsck';
export { prune, pruneStaticDeltas } from './prune';
export type { PruneOptions, PruneResult, PruneProgress } from './prune';
export { pullLocal } from './pull-local';
export type { PullLocalOptions, PullLocalResult, PullLocalProgress } from './pull-local';
export { traverseCommit, objectKey } from './traverse';
export type { TraverseOptions } from './traverse';
export { diffTrees, diffDirs, formatDiff } from './diff';
export type { DiffResult, DiffItem, DiffOptions } from './diff';
export { printVariant, parseVariant } from './gvariant/text';
export { native } from './binding';
// Repo convenience methods (repo.commit, repo.checkout, repo.fsck, …).
import './repo/api';
export { pull, formatPullStatus } from './pull/pull';
export type { PullOptions, PullResult, PullProgress, PullPhase } from './pull/pull';
export { createFetcher, NodeFetcher, fetcherOptionsFromRemote } from './pull/fetcher';
export type { Fetcher, FetchOptions, FetcherOptions, TlsOptions } from './pull/fetcher';
export { serveRepo } from './httpd';
export type { ServeOptions, RepoServer, ServedRequest } from './httpd';
import './pull/api';
// Remotes, signatures and the summary (issue 4).
export { listRemotes, getRemote, addRemote, deleteRemote, remoteBool, remoteList, remoteUrl, setRemotesConfigDir } from './remotes/remotes';
export type { Remote, AddRemoteOptions } from './remotes/remotes';
export { verifyCommitGpg, verifySummaryGpg, inspectCommitGpg, verifyDetached, describeResult } from './gpg/verify';
export type { SignatureInfo, VerifyResult } from './gpg/verify';
export { gpgSignCommit, gpgDeleteSignatures, signDetached } from './gpg/sign';
export { importKeysToRemote, remoteTrustedKeys } from './gpg/keys';
export { verifyCommitEd25519, signCommitEd25519, generateKeyPair as generateEd25519KeyPair, signData as ed25519Sign, verifyData as ed25519Verify } from './sign/ed25519';
export { parseSummary, generateSummary, buildSummary, formatSummary } from './summary';
export type { Summary, SummaryRef, GenerateSummaryOptions } from './summary';
export { checksumFiles } from './checksum';
// Static deltas (issue 10): applying, listing, describing, deleting, verifying.
export { applyStaticDelta, applyStaticDelta as applyDelta } from './deltas/apply';
export type { ApplyDeltaOptions, ApplyDeltaResult, ApplyDeltaProgress } from './deltas/apply';
export { listDeltas } from './deltas/list';
export { showDelta, showDelta as showStaticDelta } from './deltas/show';
export { deleteDelta } from './deltas/delete';
export { verifyDeltaSignature } from './deltas/verify';
export type { DeltaSignEngine } from './deltas/sign';
export { parseSuperblock, deltaName, parseDeltaName, deltaRelDir } from './deltas/superblock';
export type { Superblock, PartHeader, FallbackObject } from './deltas/superblock';

// Static deltas: generation and indexes (issue 10).
export { generateStaticDelta, generateStaticDelta as generateDelta } from './deltas/generate';
export type { GenerateDeltaOptions, GenerateDeltaResult, GenerateDeltaProgress } from './deltas/generate';
export { reindexDeltas, listDeltaIndexes } from './deltas/indexes';
export { maybeRegenerateSummary } from './summary';
