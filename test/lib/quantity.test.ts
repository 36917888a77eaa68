import assert from 'node:assert/strict';
import { test } from 'vitest';
import { milliQuantity, parseQuantity } from '../../actions/lib/kubernetes/quantity.js';

test('quantities: binary and decimal suffixes, milli, exponents', () => {
  assert.equal(parseQuantity('8Gi'), 8 * 1024 ** 3);
  assert.equal(parseQuantity('512Mi'), 512 * 1024 ** 2);
  assert.equal(parseQuantity('1k'), 1000);
  assert.equal(parseQuantity('2G'), 2e9);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('250m'), 0.25);
  assert.equal(parseQuantity(' 4 '), 4);
});

test('cpu in millicores', () => {
  assert.equal(milliQuantity('500m'), 500);
  assert.equal(milliQuantity('2'), 2000);
  assert.equal(milliQuantity('1.5'), 1500);
  assert.equal(milliQuantity('1500m'), 1500);
});

test('what is not a quantity is NaN', () => {
  for (const q of ['', 'Gi', '8Gb', 'lots', '-1']) assert.ok(Number.isNaN(parseQuantity(q)), q);
});
