// Public entry point of node-ostree: one style throughout, free functions
// that take the Repo first and an options object last (revs accepted
// wherever a commit is, an AbortSignal and onProgress on long calls, one
// Progress shape), like libostree's ostree_repo_*(repo, …) functions. Repo
// itself keeps the object store's own operations (open, create, config,
// reading objects). Everything not listed here is internal.

// Errors and progress
export { OstreeError, ErrorCodes } from './errors';
export type { ErrorCode } from './errors';
export type { Progress, ProgressUnit } from './progress';

// The repository
export { Repo, REPO_MODES } from './repo/repo';
export type { RepoMode, CreateOptions, ContentObject } from './repo/repo';
export type { KeyFile } from './repo/keyfile';
export { withTransaction } from './repo/transaction';
export type { Transaction, TransactionOptions } from './repo/transaction';
export { withRepoLock } from './lock';
export type { LockType, LockOptions } from './lock';
export { ObjectType, commitContentChecksum } from './objects/formats';
export type { Commit, DirMeta, DirTree, FileHeader, Metadata, Xattrs } from './objects/formats';

// Refs
export { resolveRev, listRefs, parseRefspec, isValidRefName } from './refs/refs';
export type { RefEntry } from './refs/refs';
export { setRef } from './refs/set-ref';
export { listCollectionRefs } from './refs/collection-refs';
export { setCollectionRef } from './refs/set-ref';
export type { CollectionRef, CollectionRefEntry, ListCollectionRefsOptions } from './refs/collection-refs';
export { verifyBindings } from './refs/bindings';

// Commit, checkout, diff
export { commit } from './commit/commit';
export type { CommitOptions, CommitResult, CommitModifier, CommitProgress } from './commit/commit';
export { checkout } from './checkout/checkout';
export type { CheckoutOptions, CheckoutResult, CheckoutProgress } from './checkout/checkout';
export { diffTrees, diffDirs, formatDiff } from './diff';
export type { DiffResult, DiffItem, DiffOptions } from './diff';
export { checksumFiles } from './checksum';

// Maintenance
export { fsck } from './fsck';
export type { FsckOptions, FsckResult, FsckIssue, FsckProgress } from './fsck';
export { repairRepo } from './repair';
export type { RepairOptions, RepairResult, RepairProgress } from './repair';
export { prune } from './prune';
export type { PruneOptions, PruneResult, PruneProgress } from './prune';

// Replication
export { pull } from './pull/pull';
export type { PullOptions, PullResult, PullProgress, PullPhase } from './pull/pull';
export type { DeltaCounts } from './pull/progress';
export { pullLocal } from './pull-local';
export type { PullLocalOptions, PullLocalResult, PullLocalProgress } from './pull-local';
export { serveRepo } from './httpd';
export type { ServeOptions, RepoServer, ServedRequest } from './httpd';

// Remotes, signatures, the summary
export { listRemotes, getRemote, addRemote, deleteRemote } from './remotes/remotes';
export type { Remote, AddRemoteOptions } from './remotes/remotes';
export { importKeysToRemote, verifyCommitGpg, verifySummaryGpg, gpgSignCommit, gpgDeleteSignatures } from './gpg/api';
export type { SignatureInfo, VerifyResult, ImportKeysOptions } from './gpg/api';
export { verifyCommitEd25519, signCommitEd25519, generateKeyPair as generateEd25519KeyPair } from './sign/ed25519';
export { generateSummary, parseSummary } from './summary';
export type { Summary, SummaryRef, GenerateSummaryOptions } from './summary';

// Application deployments (an app install directory: versions/, `current`, rollback)
export { AppDeployments } from './app/app-deployments';
export type { AppDeploymentsOptions, AppDeployment, AppDeployOptions, AppDeployProgress, AppCleanupOptions, AppCleanupResult } from './app/app-deployments';

// Static deltas
export { generateStaticDelta as generateDelta } from './deltas/generate';
export type { GenerateDeltaOptions, GenerateDeltaResult, GenerateDeltaProgress } from './deltas/generate';
export { applyStaticDelta as applyDelta } from './deltas/apply';
export type { ApplyDeltaOptions, ApplyDeltaResult, ApplyDeltaProgress } from './deltas/apply';
export { listDeltas } from './deltas/list';
export { showDelta } from './deltas/show';
export type { DeltaInfo, DeltaPartInfo } from './deltas/show';
export { deleteDelta } from './deltas/delete';
export { verifyDeltaSignature as verifyDelta } from './deltas/verify';
export type { DeltaSignEngine } from './deltas/sign';
export { reindexDeltas } from './deltas/indexes';

// GVariant, for reading metadata values (ostree's text form and the codec).
export { printVariant, parseVariant } from './gvariant/text';
export * as gvariant from './gvariant/codec';

// Sysroot parts: kernel arguments, the /etc merge, bootloader backends.
export { KernelArgs } from './sysroot/kargs';
export { mergeEtc, configDiff, formatConfigDiff } from './sysroot/etc-merge';
export type { ConfigDiff, ConfigDiffOptions, MergeEtcOptions, MergeEtcResult, MergeEtcProgress } from './sysroot/etc-merge';
export { selectBootloader, BOOTLOADER_CONFIGS } from './sysroot/bootloader/index';
export type { Bootloader, BootloaderConfig, BootloaderName, BootEntry, WriteConfigOptions } from './sysroot/bootloader/index';
export { generateGrub2Config } from './sysroot/bootloader/grub2';
export type { Grub2GenerateOptions } from './sysroot/bootloader/grub2';
export { instutilSetKargs, kargsEditInPlace } from './sysroot/instutil';
export type { SetKargsOptions } from './sysroot/instutil';

// The sysroot: deployments, `ostree admin`.
export { Sysroot } from './sysroot/sysroot';
export type { SysrootOpenOptions } from './sysroot/sysroot';
export type { SysrootLockOptions } from './sysroot/lock';
export { Deployment } from './sysroot/deployment';
export type { UnlockedState } from './sysroot/deployment';
export { BootConfig } from './sysroot/bls';
export { deploy as deploySysroot, deployTree } from './sysroot/deploy';
export type { DeployOptions, DeployTreeOptions } from './sysroot/deploy';
export { writeDeployments, simpleWriteDeployment, setDeploymentKargs } from './sysroot/write-deployments';
export type { WriteDeploymentsOptions, SimpleWriteOptions } from './sysroot/write-deployments';
export { cleanup as cleanupSysroot } from './sysroot/cleanup';
export type { CleanupOptions as SysrootCleanupOptions, CleanupResult as SysrootCleanupResult } from './sysroot/cleanup';
export { initFs, initOsname } from './sysroot/init';
export type { InitFsOptions } from './sysroot/init';
export { setPinned } from './sysroot/pin';
export { setOrigin } from './sysroot/origin';
export { SysrootUpgrader } from './sysroot/upgrader';
export type { UpgraderPullOptions } from './sysroot/upgrader';
