// The CLI bundles: the modules that small commands (rev-parse, refs, show,
// cat, ls, log, config) need, in a few files made at build time
// (scripts/cli-bundle.js writes dist/cli/ostree.GROUP.bundle.js), each
// compiled with a V8 code cache kept in a cache directory. Loading ~20 modules one by one
// costs their path resolution, reads and compilation (about 10 ms of CPU);
// from the bundle with a warm code cache it costs about half.
//
// Each bundled module becomes a real CommonJS module registered in
// require.cache under its own file name, so a module loaded from disk later
// (the rest of the library, loaded lazily) that requires it gets the same
// instance. Without the bundle (NODE_OSTREE_NO_BUNDLE=1, or a build without
// it) modules load from dist/ as usual. Node 22's module.enableCompileCache()
// is turned on when present, for the modules loaded from disk.
// (`import x = require()`: no namespace object copied from each module, which `import * as` costs.)
import fs = require('node:fs');
import path = require('node:path');

/** dist/ (this file is dist/cli/bundle.js). */
const DIST = path.dirname(__dirname);
const bundleFile = (group: string) => path.join(__dirname, `ostree.${group}.bundle.js`);

type Factory = (exports: unknown, require: NodeRequire, module: NodeModule, filename: string, dirname: string) => void;

interface ModuleInternals {
  new (id: string, parent?: NodeModule): NodeModule & { paths: string[]; loaded: boolean };
  _cache: Record<string, NodeModule>;
  _nodeModulePaths(dir: string): string[];
  _resolveFilename(request: string, parent: NodeModule, isMain: boolean, options?: { paths?: string[] }): string;
  enableCompileCache?(dir?: string): unknown;
}

const debug = process.env.NODE_OSTREE_DEBUG_STARTUP ? (s: string) => process.stderr.write(`startup: ${s}\n`) : undefined;

/** CommonJS's Module class (what node:module exports, without loading that module). */
const Module = module.constructor as unknown as ModuleInternals;

/** Factories by dist-relative id, of the groups loaded so far. */
const factories = new Map<string, Factory>();
/** Modules of the groups not loaded yet: id -> group. */
const pending = new Map<string, string>();
/** Whether the bundles are used (undefined: not decided yet). */
let enabled: boolean | undefined;

/** Where compiled code is cached: $NODE_OSTREE_CACHE_DIR, else $XDG_CACHE_HOME/node-ostree, else ~/.cache/node-ostree. */
export function cacheDir(): string | null {
  const env = process.env;
  if (env.NODE_OSTREE_CACHE_DIR) return env.NODE_OSTREE_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return path.join(env.XDG_CACHE_HOME, 'node-ostree');
  if (env.HOME) return path.join(env.HOME, '.cache', 'node-ostree');
  return null;
}

/** Whether the bundles are there and used; loads the first one ('core', which indexes the others). */
function bundlesEnabled(): boolean {
  if (enabled !== undefined) return enabled;
  const dir = cacheDir();
  // node:module is only loaded where it has enableCompileCache (Node >= 22.1): loading it costs start-up time.
  if (dir && Number(process.versions.node.split('.')[0]) >= 22) {
    const pub = require('node:module') as ModuleInternals;
    if (typeof pub.enableCompileCache === 'function') pub.enableCompileCache(path.join(dir, 'node'));
  }
  enabled = !process.env.NODE_OSTREE_NO_BUNDLE && loadGroup('core');
  if (enabled) serveDiskLoads();
  return enabled;
}

/**
 * A module loaded from disk (the rest of the library) that requires a bundled
 * module not loaded yet would make Node read and compile that file: give Node
 * the bundled code instead, so each module has one source in the process.
 */
function serveDiskLoads(): void {
  const exts = (Module as unknown as { _extensions: Record<string, (m: NodeModule, filename: string) => void> })._extensions;
  const js = exts['.js'];
  exts['.js'] = function (mod: NodeModule, filename: string) {
    const rel = path.relative(DIST, filename);
    const id = rel.startsWith('..') ? undefined : rel.split(path.sep).join('/');
    const f = id !== undefined && (factories.has(id) || pending.has(id)) ? factory(id) : undefined;
    if (!f) return js.call(this, mod, filename);
    run(mod as RunnableModule, id!, f);
  };
}

type RunnableModule = NodeModule & { paths: string[]; loaded: boolean };

/** Compile one bundle (with the code cache when there is one) and take its factories; false when it can't be read. */
function loadGroup(group: string): boolean {
  let src: string;
  try {
    src = fs.readFileSync(bundleFile(group), 'latin1');
  } catch {
    debug?.(`no bundle ${group}`);
    return false;
  }
  // The first line names the bundle's content hash: the cache is per bundle, Node version and architecture.
  const hash = /^\/\/ node-ostree cli bundle ([0-9a-f]+)/.exec(src)?.[1];
  const dir = cacheDir();
  const cacheFile = dir && hash ? path.join(dir, `${cachePrefix(group)}${hash}-${process.version}-${process.arch}.v8cache`) : null;
  let cachedData: Buffer | undefined;
  try {
    if (cacheFile) cachedData = fs.readFileSync(cacheFile);
  } catch {
    // no cache yet
  }
  const vm = require('node:vm') as typeof import('node:vm');
  const script = new vm.Script(src, { filename: bundleFile(group), cachedData });
  const state = !cachedData ? 'miss' : script.cachedDataRejected ? 'rejected' : 'hit';
  debug?.(`${group}: code cache ${state}${cacheFile ? ` ${cacheFile}` : ''}`);
  // A new cache is written as the process ends, so it holds the functions this run compiled.
  if (state !== 'hit' && cacheFile) process.once('exit', () => writeCache(script, cacheFile, group));
  const run = script.runInThisContext() as (define: (id: string, f: Factory) => void, index: (groups: Record<string, string[]>) => void) => void;
  run(
    (id, f) => {
      factories.set(id, f);
      pending.delete(id);
    },
    (groups) => {
      for (const [g, ids] of Object.entries(groups)) for (const id of ids) if (!factories.has(id)) pending.set(id, g);
    },
  );
  return true;
}

/** The factory of bundled module `id`, loading its group on first use. */
function factory(id: string): Factory | undefined {
  const group = pending.get(id);
  if (group !== undefined && !loadGroup(group)) for (const [i, g] of pending) if (g === group) pending.delete(i);
  return factories.get(id);
}

/**
 * Cache names start with the group and a hash of where this installation is,
 * so that several checkouts or installs sharing a cache directory each keep
 * their own (a new build replaces only its own installation's older cache).
 */
function cachePrefix(group: string): string {
  let h = 0x811c9dc5; // FNV-1a (node:crypto would cost more start-up than everything here)
  for (let i = 0; i < __dirname.length; i++) h = Math.imul(h ^ __dirname.charCodeAt(i), 0x01000193);
  return `cli-${group}-${(h >>> 0).toString(16).padStart(8, '0')}-`;
}

/** Write the code cache of a bundle (and drop this installation's caches of older builds of the group for this Node). */
function writeCache(script: import('node:vm').Script, file: string, group: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    fs.renameSync(tmp, file);
    for (const name of fs.readdirSync(dir)) {
      // Same group, Node version and architecture: a cache of an older build of the bundle.
      const stale = name.startsWith(cachePrefix(group)) && name.endsWith(`-${process.version}-${process.arch}.v8cache`) && name !== path.basename(file);
      if (stale) fs.rmSync(path.join(dir, name), { force: true });
    }
  } catch {
    // A cache that can't be written only costs start-up time.
    try {
      fs.unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}

/** The id of `request` (relative) from module `from`, when the bundle has it. */
function bundledId(from: string, request: string): string | undefined {
  const base = path.posix.join(path.posix.dirname(from), request);
  for (const id of [base, `${base}.js`, `${base}/index.js`]) if (factories.has(id) || pending.has(id)) return id;
  return undefined;
}

/** Run bundled module `id` as a CommonJS module registered in require.cache (or return the one there). */
function load(id: string, f: Factory, parent: NodeModule | undefined): unknown {
  const filename = path.join(DIST, id);
  const existing = Module._cache[filename];
  if (existing) return existing.exports;
  const mod = new Module(filename, parent);
  mod.filename = filename;
  mod.paths = Module._nodeModulePaths(path.dirname(filename));
  Module._cache[filename] = mod;
  try {
    run(mod, id, f);
  } catch (e) {
    delete Module._cache[filename];
    throw e;
  }
  mod.loaded = true;
  return mod.exports;
}

/** Run a bundled module's code for `mod`; its relative requires of bundled modules skip Node's path resolution. */
function run(mod: RunnableModule, id: string, f: Factory): void {
  const req = ((request: string) => {
    if (request.startsWith('.')) {
      const target = bundledId(id, request);
      const tf = target && factory(target);
      if (tf) return load(target, tf, mod);
    }
    return mod.require(request);
  }) as NodeRequire;
  req.resolve = ((request: string, options?: { paths?: string[] }) => Module._resolveFilename(request, mod, false, options)) as NodeRequire['resolve'];
  req.main = require.main;
  req.cache = Module._cache;
  f.call(mod.exports, mod.exports, req, mod, mod.filename, path.dirname(mod.filename));
}

/** Load dist/`id` ('cli/driver.js'): from the bundle when it has it, else from disk. */
export function loadCliModule(id: string): unknown {
  const f = bundlesEnabled() ? factory(id) : undefined;
  if (f) return load(id, f, require.main);
  return require(path.join(DIST, id));
}
