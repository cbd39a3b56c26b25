#!/usr/bin/env node
// The govlocker command. Runs the compiled JavaScript in dist/ (made by `npm ci` / `npm run build`); in a
// checkout without it, runs the TypeScript sources through tsx's loader instead.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/bin/cli.js', import.meta.url);
let main;
if (existsSync(compiled)) {
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('./cli.ts'));
}
await main(process.argv.slice(2));
