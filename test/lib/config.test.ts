import assert from 'node:assert/strict';
import { test } from 'vitest';
import { kfpMirror, loadOnly, localStackManifests, operationPollMs, retryBaseMs, sshHost } from '../../actions/lib/config.js';

test('MLABS_RETRY_BASE_MS: 0 or more milliseconds; unset, empty, negative or not a number leaves the default', () => {
  assert.equal(retryBaseMs({ MLABS_RETRY_BASE_MS: '0' }), 0);
  assert.equal(retryBaseMs({ MLABS_RETRY_BASE_MS: '2.5' }), 2.5);
  for (const v of [undefined, '', '-1', 'soon', 'Infinity']) assert.equal(retryBaseMs({ MLABS_RETRY_BASE_MS: v }), undefined, String(v));
});

test('MLABS_OPERATION_POLL_MS: more than 0 milliseconds, else the default', () => {
  assert.equal(operationPollMs({ MLABS_OPERATION_POLL_MS: '15' }), 15);
  for (const v of [undefined, '', '0', '-5', 'x']) assert.equal(operationPollMs({ MLABS_OPERATION_POLL_MS: v }), undefined, String(v));
});

test('MLABS_LOAD_ONLY is on only when it is 1', () => {
  assert.equal(loadOnly({ MLABS_LOAD_ONLY: '1' }), true);
  for (const v of [undefined, '', '0', 'true']) assert.equal(loadOnly({ MLABS_LOAD_ONLY: v }), false, String(v));
});

test('the local stack knobs: a set value, or undefined when unset or empty', () => {
  assert.equal(localStackManifests({ MLABS_LOCAL_STACK_MANIFESTS: '/m' }), '/m');
  assert.equal(kfpMirror({ MLABS_LOCAL_STACK_KFP_MIRROR: '/kfp' }), '/kfp');
  assert.equal(sshHost({ MLABS_SSH_HOST: 'dgx.lab' }), 'dgx.lab');
  assert.equal(localStackManifests({ MLABS_LOCAL_STACK_MANIFESTS: '' }), undefined);
  assert.equal(kfpMirror({}), undefined);
  assert.equal(sshHost({ MLABS_SSH_HOST: '' }), undefined);
});
