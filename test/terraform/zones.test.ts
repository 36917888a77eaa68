/**
 * Any region works: envs/dev's and bootstrap's variables, planned for real by terraform over an
 * empty configuration (no provider needed), accept europe-west4 with its own zones or none (every
 * zone of the region), and refuse a zone of another region or a zone twice, in their own words.
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../harness.js';

const env = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', TF_IN_AUTOMATION: '1' };

/** A directory holding only `variables.tf` of a Terraform root, initialised. */
function variablesOnly(root: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlabs-tf-vars-'));
  copyFileSync(join(ROOT, 'terraform', root, 'variables.tf'), join(dir, 'variables.tf'));
  const init = spawnSync('terraform', ['init', '-input=false', '-no-color'], { cwd: dir, env, encoding: 'utf8' });
  assert.equal(init.status, 0, init.stderr);
  return dir;
}

function plan(dir: string, vars: Record<string, string>): { ok: boolean; text: string } {
  const args = ['plan', '-input=false', '-no-color', ...Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${v}`])];
  const r = spawnSync('terraform', args, { cwd: dir, env, encoding: 'utf8' });
  return { ok: r.status === 0, text: `${r.stdout}\n${r.stderr}`.replace(/\s+/g, ' ') };
}

test('envs/dev: europe-west4 with its zones, or with none (every zone of the region), is accepted', () => {
  const dir = variablesOnly('envs/dev');
  for (const zones of ['["europe-west4-a","europe-west4-b","europe-west4-c"]', '[]']) {
    const r = plan(dir, { region: 'europe-west4', zones });
    assert.ok(r.ok, `${zones}: ${r.text}`);
  }
  assert.ok(plan(dir, { region: 'asia-southeast1', zones: '["asia-southeast1-b"]' }).ok, 'any region, not a fixed list');
});

test('envs/dev: a zone of another region, a malformed zone or a zone twice is refused, naming what is accepted', () => {
  const dir = variablesOnly('envs/dev');
  const other = plan(dir, { region: 'europe-west4', zones: '["europe-west4-a","us-central1-a"]' });
  assert.equal(other.ok, false);
  assert.match(other.text, /every zone must be a zone of var\.region: for europe-west4, europe-west4-a, europe-west4-b/);
  const bad = plan(dir, { region: 'europe-west4', zones: '["europe-west4"]' });
  assert.equal(bad.ok, false);
  assert.match(bad.text, /zones must be zone names such as/);
  const twice = plan(dir, { region: 'europe-west4', zones: '["europe-west4-a","europe-west4-a"]' });
  assert.equal(twice.ok, false);
  assert.match(twice.text, /must not list a zone twice/);
});

test('bootstrap: europe-west4 zones accepted, another region\'s refused', () => {
  const dir = variablesOnly('bootstrap');
  assert.ok(plan(dir, { region: 'europe-west4', zones: '["europe-west4-b"]' }).ok);
  const r = plan(dir, { region: 'europe-west4', zones: '["us-central1-b"]' });
  assert.equal(r.ok, false);
  assert.match(r.text, /every zone must be a zone of var\.region/);
});
