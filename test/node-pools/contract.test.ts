/** The generated output-only table stays current with @google-cloud/container; small pure pieces. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'vitest';
import { OUTPUT_FILE, render } from '../../scripts/gen-nodepool-contract.js';
import { NODE_POOL_TYPES } from '../../actions/lib/nodepool/contract.generated.js';
import { createableDefinition, diffDefinitions } from '../../actions/lib/nodepool/definition.js';
import { chooseNodeVersion } from '../../actions/lib/nodepool/version.js';
import { classify } from '../../actions/lib/nodepool/failover.js';
import { gkeOperationError } from '../../actions/lib/google/container-operations.js';

test('contract.generated.ts equals a fresh generation from the installed protos.json', () => {
  assert.equal(readFileSync(OUTPUT_FILE, 'utf8'), render(), 'stale: run npx tsx scripts/gen-nodepool-contract.ts');
});

test('the generated table knows NodePool output-only fields, nested ones included', () => {
  assert.deepEqual([...(NODE_POOL_TYPES.NodePool?.outputOnly ?? [])].sort(), ['instanceGroupUrls', 'podIpv4CidrSize', 'selfLink', 'status', 'statusMessage', 'updateInfo']);
  assert.ok(NODE_POOL_TYPES.NodeConfig?.outputOnly.includes('effectiveCgroupMode'));
  const def = createableDefinition({ name: 'p', status: 'RUNNING', etag: 'x', config: { machineType: 'g2-standard-4', effectiveCgroupMode: 'V2' } });
  assert.deepEqual(def, { name: 'p', config: { machineType: 'g2-standard-4' } });
});

test('diff treats int64 strings as numbers and lists changed paths', () => {
  assert.deepEqual(diffDefinitions({ a: { n: '3' } }, { a: { n: 3 } }), []);
  assert.deepEqual(diffDefinitions({ a: 1, b: 2 }, { a: 1, c: 2 }).map((d) => d.path), ['b', 'c']);
});

test('version skew: keep a valid version, else the closest valid one not newer than the control plane', () => {
  const valid = ['1.31.6-gke.1000', '1.32.2-gke.1000', '1.32.4-gke.1415000'];
  assert.deepEqual(chooseNodeVersion('1.32.2-gke.1000', '1.32.4-gke.1415000', valid), { version: '1.32.2-gke.1000' });
  const newer = chooseNodeVersion('1.33.1-gke.1', '1.32.4-gke.1415000', valid);
  assert.equal(newer.version, '1.32.4-gke.1415000');
  assert.match(newer.note ?? '', /newer than the control plane/);
  const retired = chooseNodeVersion('1.32.3-gke.5', '1.32.4-gke.1415000', valid);
  assert.equal(retired.version, '1.32.2-gke.1000');
  assert.match(retired.note ?? '', /no longer offered/);
});

test('failure classification and operation error text read both error and statusMessage', () => {
  assert.equal(classify("[GCE_STOCKOUT]: ... does not have enough resources available to fulfill the request."), 'stockout');
  assert.equal(classify('Insufficient regional quota to satisfy request: resource "NVIDIA_L4_GPUS"'), 'quota');
  assert.equal(classify('Accelerator type "nvidia-l4" does not exist in zone us-west4-b.'), 'unavailable');
  assert.equal(classify('Internal error'), 'failed');
  assert.equal(gkeOperationError({ name: 'op', status: 'DONE' }), undefined);
  assert.equal(gkeOperationError({ name: 'op', status: 'DONE', statusMessage: 'stockout [GCE_STOCKOUT]' }), 'stockout [GCE_STOCKOUT]');
  assert.equal(gkeOperationError({ name: 'op', status: 'DONE', error: { code: 8, message: 'short' }, statusMessage: 'short and long' }), 'short and long');
});
