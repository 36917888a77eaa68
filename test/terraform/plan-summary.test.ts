/**
 * terraform-plan-summary through its committed bundle, on recorded `terraform show -json` plans
 * (test/terraform/fixtures/plan-*.json): its table, its outputs, and its refusals.
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runAction } from '../harness.js';
import { classify, matchProtect, parsePlan, summarizePlan } from '../../actions/lib/terraform/plan.js';

const fixture = (name: string) => join(ROOT, 'test/terraform/fixtures', name);

function summarize(inputs: Record<string, string | boolean>) {
  return runAction('terraform-plan-summary', { inputs });
}

/** Table rows of the summary as [resource, type, action, note]. */
function tableRows(summary: string): string[][] {
  return summary
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| Resource') && !l.startsWith('| ---'))
    .map((l) =>
      l
        .slice(2, -2)
        .split(' | ')
        .map((c) => c.trim()),
    );
}

test('create-only plan: every resource listed as create, counts out, no refusal', async () => {
  const run = await summarize({ plan_json: fixture('plan-create.json') });
  assert.equal(run.exitCode, 0, run.main.stdout);
  assert.deepEqual(run.outputs, { creates: '5', updates: '0', deletes: '0', replaces: '0', has_destructive: 'false', protected: '' });
  assert.deepEqual(
    tableRows(run.summary).map((r) => [r[0], r[1], r[2]]),
    [
      ['module.gke.google_container_cluster.this', 'google_container_cluster', 'create'],
      ['module.gke.google_container_node_pool.system', 'google_container_node_pool', 'create'],
      ['module.registry.google_artifact_registry_repository.this["apps"]', 'google_artifact_registry_repository', 'create'],
      ['module.registry.google_artifact_registry_repository.this["mlabs-runner"]', 'google_artifact_registry_repository', 'create'],
      ['module.storage.google_storage_bucket.snapshots', 'google_storage_bucket', 'create'],
    ],
  );
  assert.match(run.summary, /^## Terraform plan$/m);
  assert.match(run.summary, /5 to create, 0 to update, 0 to replace, 0 to delete/);
});

test('update plan: in-place updates listed, unchanged resources counted but not tabled', async () => {
  const run = await summarize({ plan_json: fixture('plan-update.json'), title: 'platform-create plan' });
  assert.equal(run.exitCode, 0, run.main.stdout);
  assert.deepEqual(run.outputs, { creates: '0', updates: '2', deletes: '0', replaces: '0', has_destructive: 'false', protected: '' });
  assert.deepEqual(
    tableRows(run.summary).map((r) => [r[0], r[2]]),
    [
      ['module.gke.google_container_cluster.this', 'update'],
      ['module.storage.google_storage_bucket.snapshots', 'update'],
    ],
  );
  assert.match(run.summary, /^## platform-create plan$/m);
  assert.match(run.summary, /3 resource\(s\) unchanged/);
});

test('replace plan: refused without allow_destroy, with the resource and the reason', async () => {
  const run = await summarize({ plan_json: fixture('plan-replace.json') });
  assert.equal(run.exitCode, 1);
  assert.deepEqual(run.outputs, { creates: '0', updates: '0', deletes: '0', replaces: '1', has_destructive: 'true', protected: '' });
  const rows = tableRows(run.summary);
  assert.deepEqual(rows.map((r) => [r[0], r[2]]), [['module.gke.google_container_node_pool.system', 'replace']]);
  assert.match(rows[0]?.[3] ?? '', /replace_because_cannot_update: node_config\.0\.machine_type/);
  const error = run.main.annotations.find((a) => a.level === 'error');
  assert.ok(error, run.main.stdout);
  assert.match(error.message, /module\.gke\.google_container_node_pool\.system \(replace\)/);
  assert.match(error.message, /allow_destroy: true/);
  assert.match(run.summary, /\*\*Refused:\*\*/);
});

test('replace plan with allow_destroy: true passes', async () => {
  const run = await summarize({ plan_json: fixture('plan-replace.json'), allow_destroy: true });
  assert.equal(run.exitCode, 0, run.main.stdout);
  assert.equal(run.outputs.replaces, '1');
  assert.doesNotMatch(run.summary, /Refused/);
});

test('delete plan: refused without allow_destroy, passes with it', async () => {
  const refused = await summarize({ plan_json: fixture('plan-delete.json') });
  assert.equal(refused.exitCode, 1);
  assert.deepEqual(refused.outputs, { creates: '0', updates: '0', deletes: '1', replaces: '0', has_destructive: 'true', protected: '' });
  assert.deepEqual(tableRows(refused.summary).map((r) => [r[0], r[2], r[3]]), [
    ['module.registry.google_artifact_registry_repository.this["old"]', 'delete', 'delete_because_each_key'],
  ]);
  assert.ok(refused.main.annotations.some((a) => a.level === 'error' && /this\["old"\] \(delete\)/.test(a.message)));
  const allowed = await summarize({ plan_json: fixture('plan-delete.json'), allow_destroy: 'true' });
  assert.equal(allowed.exitCode, 0, allowed.main.stdout);
});

test("platform-destroy's targeted destroy plan passes with allow_destroy and the default protect list", async () => {
  const run = await summarize({ plan_json: fixture('plan-destroy-targeted.json'), allow_destroy: true });
  assert.equal(run.exitCode, 0, run.main.stdout);
  assert.deepEqual(run.outputs, { creates: '0', updates: '0', deletes: '4', replaces: '0', has_destructive: 'true', protected: '' });
});

test('a protected resource is refused even with allow_destroy (default protect: the state and snapshot buckets)', async () => {
  const run = await summarize({ plan_json: fixture('plan-destroy-all.json'), allow_destroy: true });
  assert.equal(run.exitCode, 1);
  assert.equal(run.outputs.protected, 'module.storage.google_storage_bucket.snapshots');
  assert.match(run.summary, /PROTECTED \(module\.storage\.google_storage_bucket\.snapshots\)/);
  assert.ok(run.main.annotations.some((a) => a.level === 'error' && /protected/.test(a.message) && /snapshots/.test(a.message)));
});

test('protect patterns match by address, type, or name attribute; an explicit list replaces the default', async () => {
  const byType = await summarize({ plan_json: fixture('plan-delete.json'), allow_destroy: true, protect: 'google_artifact_registry_repository' });
  assert.equal(byType.exitCode, 1);
  assert.equal(byType.outputs.protected, 'module.registry.google_artifact_registry_repository.this["old"]');
  const other = await summarize({ plan_json: fixture('plan-destroy-all.json'), allow_destroy: true, protect: 'google_compute_network.*' });
  assert.equal(other.exitCode, 0, other.main.stdout);
  const plan = parsePlan(readFileSync(fixture('plan-destroy-all.json'), 'utf8'));
  const bucket = plan.resource_changes?.find((r) => r.type === 'google_storage_bucket');
  assert.ok(bucket);
  assert.equal(matchProtect(bucket, ['*-nodepool-snapshots']), '*-nodepool-snapshots');
  assert.equal(matchProtect(bucket, ['module.storage.*']), 'module.storage.*');
  assert.equal(matchProtect(bucket, ['google_container_cluster']), undefined);
});

test('no changes: says so, counts are zero', async () => {
  const run = await summarize({ plan_json: fixture('plan-no-changes.json') });
  assert.equal(run.exitCode, 0, run.main.stdout);
  assert.deepEqual(run.outputs, { creates: '0', updates: '0', deletes: '0', replaces: '0', has_destructive: 'false', protected: '' });
  assert.match(run.summary, /No changes/);
});

test('bad input: a missing file, a non-plan and a state are refused with a fix', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plan-summary-'));
  const missing = await summarize({ plan_json: join(dir, 'nope.json') });
  assert.equal(missing.exitCode, 1);
  assert.ok(missing.main.annotations.some((a) => a.level === 'error' && /Cannot read plan_json/.test(a.message) && /terraform show -json/.test(a.message)));
  writeFileSync(join(dir, 'text.txt'), 'Plan: 1 to add, 0 to change, 0 to destroy.\n');
  const text = await summarize({ plan_json: join(dir, 'text.txt') });
  assert.equal(text.exitCode, 1);
  assert.ok(text.main.annotations.some((a) => /is not JSON/.test(a.message)));
  writeFileSync(join(dir, 'state.json'), JSON.stringify({ format_version: '1.0', terraform_version: '1.11.4', values: { root_module: {} } }));
  const state = await summarize({ plan_json: join(dir, 'state.json') });
  assert.equal(state.exitCode, 1);
  assert.ok(state.main.annotations.some((a) => /not a plan/.test(a.message)));
  const empty = await summarize({ plan_json: '' });
  assert.equal(empty.exitCode, 1);
  assert.ok(empty.main.annotations.some((a) => /Input "plan_json" is empty/.test(a.message)));
  const badBool = await summarize({ plan_json: fixture('plan-create.json'), allow_destroy: 'maybe' });
  assert.equal(badBool.exitCode, 1);
  assert.ok(badBool.main.annotations.some((a) => /Input "allow_destroy"/.test(a.message)));
});

test('an errored plan is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plan-summary-'));
  const plan = JSON.parse(readFileSync(fixture('plan-create.json'), 'utf8'));
  plan.errored = true;
  writeFileSync(join(dir, 'errored.json'), JSON.stringify(plan));
  const run = await summarize({ plan_json: join(dir, 'errored.json') });
  assert.equal(run.exitCode, 1);
  assert.ok(run.main.annotations.some((a) => /errored/.test(a.message)));
});

test('classify: Terraform action lists', () => {
  assert.equal(classify(['create']), 'create');
  assert.equal(classify(['update']), 'update');
  assert.equal(classify(['delete']), 'delete');
  assert.equal(classify(['delete', 'create']), 'replace');
  assert.equal(classify(['create', 'delete']), 'replace');
  assert.equal(classify(['no-op']), 'no-op');
  assert.equal(classify(['read']), 'read');
  assert.equal(classify(['forget']), 'forget');
  assert.throws(() => classify(['explode']), /Unknown Terraform change actions/);
  const s = summarizePlan(parsePlan(readFileSync(fixture('plan-replace.json'), 'utf8')));
  assert.deepEqual(s.counts, { creates: 0, updates: 0, deletes: 0, replaces: 1, reads: 0, noops: 3, forgets: 0 });
});
