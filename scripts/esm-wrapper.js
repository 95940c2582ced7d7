// Emit dist/index.mjs (and its dist/index.d.mts): an ESM facade over the
// CommonJS build, so consumers can `import { Repo } from 'node-ostree'` as
// well as require() it, with types either way.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist');
const names = Object.keys(require(path.join(dist, 'index.js'))).filter((n) => n !== 'default' && n !== '__esModule');
const body = [
  "import cjs from './index.js';",
  ...names.map((n) => `export const ${n} = cjs.${n};`),
  'export default cjs;',
  '',
].join('\n');
fs.writeFileSync(path.join(dist, 'index.mjs'), body);

// Its typings: an ES module's own declaration file (TypeScript under
// moduleResolution node16/nodenext/bundler reads .d.mts for the "import"
// condition), re-exporting the CommonJS build's declarations as named exports
// plus the namespace as default, exactly what index.mjs provides.
const dts = [
  "import * as cjs from './index.js';",
  "export * from './index.js';",
  'export default cjs;',
  '',
].join('\n');
fs.writeFileSync(path.join(dist, 'index.d.mts'), dts);
