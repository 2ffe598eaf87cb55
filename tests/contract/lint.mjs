// Lints docs/api/openapi.yaml with Spectral's spectral:oas ruleset (.spectral.yaml here).
// Any finding fails, down to a hint: the file is kept clean.
//
//   node lint.mjs            (after `npm ci` in this folder; scripts/test runs it)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, 'node_modules/@stoplight/spectral-cli/dist/index.js');
if (!existsSync(cli)) {
  console.error(
    'openapi.lint: tests/contract/node_modules is missing: run `npm ci` in tests/contract',
  );
  process.exit(1);
}
const spec = process.env.OBSERVERNET_OPENAPI ?? join(here, '../../docs/api/openapi.yaml');
const run = spawnSync(
  process.execPath,
  [cli, 'lint', '--ruleset', join(here, '.spectral.yaml'), '--fail-severity', 'hint', spec],
  { stdio: 'inherit' },
);
if (run.error) throw run.error;
process.exit(run.status ?? 1);
