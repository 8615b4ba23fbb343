// Flat config: recommended JS + typescript-eslint rules over the whole tree.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'hub/web/static/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // Boundaries (docs/STYLE.md 1-2, issue 16 item 9): the arrows between the areas point one way.
  // A relative import that climbs out of its area into a forbidden one is an error; test/ is free.
  ...boundaries(),
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);

/** Areas of ours an import may climb into (`../hub/…`, `../../protocol/…`). */
function into(...areas) {
  return `^(\\.\\./)+(${areas.join('|')})(/|$)`;
}

/** `no-restricted-imports` per area; exported shape is plain flat config, so test/lint can read it. */
export function boundaries() {
  const rule = (patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns }] });
  return [
    {
      files: ['protocol/**/*.ts'],
      rules: rule([{ regex: into('hub', 'gateway', 'devices', 'web', 'cli', 'lib', 'test', 'bench', 'scripts', 'dashboards'), message: 'protocol/ is the contract: it imports nothing of ours (only zod).' }]),
    },
    {
      files: ['devices/**/*.ts'],
      rules: rule([{ regex: into('gateway', 'hub', 'web', 'cli'), message: 'devices/ are drivers: they import neither gateway/ nor hub/ (only protocol/ and lib/).' }]),
    },
    {
      files: ['hub/**/*.ts'],
      ignores: ['hub/platform/db/**'],
      rules: rule([
        { regex: into('gateway', 'web/src'), message: 'hub/ never imports gateway/ (or the screens): they meet only over MQTT and protocol/.' },
        { regex: '^(better-sqlite3|pg)$', allowTypeImports: true, message: 'only hub/platform/db opens a database: take a HubDatabase (kysely) instead of a driver.' },
      ]),
    },
    {
      files: ['hub/platform/db/**/*.ts'],
      rules: rule([{ regex: into('gateway', 'web/src'), message: 'hub/ never imports gateway/ (or the screens): they meet only over MQTT and protocol/.' }]),
    },
    {
      files: ['gateway/**/*.ts'],
      rules: rule([{ regex: into('hub', 'web'), message: 'gateway/ never imports hub/: they meet only over MQTT and protocol/.' }]),
    },
    {
      files: ['web/**/*.ts', 'web/**/*.tsx'],
      rules: rule([
        { regex: into('protocol'), allowTypeImports: true, message: 'web/ takes only types from protocol/ (`import type`): the bundle must hold no server code.' },
        { regex: into('hub', 'gateway', 'devices', 'lib', 'cli', 'test', 'bench', 'scripts', 'dashboards'), message: 'web/ imports nothing of ours outside web/ but types from protocol/.' },
      ]),
    },
  ];
}
