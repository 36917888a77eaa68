import { beforeEach, test, vi } from 'vitest';
import assert from 'node:assert/strict';
import { parseDuration, readBool, readDuration, readEnum, readInt, readList, readNumber, readOptionalInt, readSecret, readString } from '../../actions/lib/inputs.js';
import { InputError } from '../../actions/lib/errors.js';

function setInput(name: string, value: string) {
  vi.stubEnv(`INPUT_${name.toUpperCase()}`, value);
}

beforeEach(() => {
  // Inputs the process itself was started with would leak into the readers: hide them.
  for (const k of Object.keys(process.env)) if (k.startsWith('INPUT_')) vi.stubEnv(k, undefined);
});

test('readString applies the pattern and names input, value and what is accepted', () => {
  setInput('project_id', 'Bad_Project');
  assert.throws(() => readString('project_id', { pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, accepted: 'a project id' }), {
    message: 'Input "project_id" is "Bad_Project": expected a project id.',
  });
  setInput('project_id', 'mlabs-demo');
  assert.equal(readString('project_id', { pattern: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/ }), 'mlabs-demo');
});

test('required, and empty without a default in action.yml', () => {
  assert.throws(() => readString('cluster', { required: true }), InputError);
  assert.equal(readString('cluster'), '');
  assert.throws(() => readInt('count', { min: 1 }), /Input "count" is empty: this input is required \(a whole number of at least 1\)/);
  assert.equal(readBool('force'), false);
  assert.deepEqual(readList('zones'), []);
});

test('readNumber takes decimals within the range; readOptionalInt gives undefined when empty', () => {
  setInput('max_hourly_usd', '2.75');
  assert.equal(readNumber('max_hourly_usd', { max: 100 }), 2.75);
  for (const bad of ['-1', '1e3', '1,5', 'five', '.5', '101']) {
    setInput('max_hourly_usd', bad);
    assert.throws(() => readNumber('max_hourly_usd', { max: 100 }), { message: `Input "max_hourly_usd" is ${JSON.stringify(bad)}: expected a number such as 0.5 of at most 100.` });
  }
  assert.equal(readOptionalInt('max_queued_jobs', { min: 0 }), undefined);
  setInput('max_queued_jobs', '3');
  assert.equal(readOptionalInt('max_queued_jobs', { min: 0 }), 3);
  setInput('max_queued_jobs', '-3');
  assert.throws(() => readOptionalInt('max_queued_jobs', { min: 0 }), /expected a whole number of at least 0/);
});

test('readInt enforces whole numbers and the range', () => {
  setInput('count', '2.5');
  assert.throws(() => readInt('count', { min: 1, max: 8 }), /expected a whole number from 1 to 8/);
  setInput('count', '9');
  assert.throws(() => readInt('count', { min: 1, max: 8 }), /"9"/);
  setInput('count', '8');
  assert.equal(readInt('count', { min: 1, max: 8 }), 8);
});

test('readEnum, readBool', () => {
  setInput('mode', 'enforced');
  assert.throws(() => readEnum('mode', ['report', 'enforce'] as const), /expected one of "report", "enforce"/);
  setInput('mode', 'Enforce');
  assert.equal(readEnum('mode', ['report', 'enforce'] as const), 'enforce');
  setInput('force', 'maybe');
  assert.throws(() => readBool('force'), /expected true or false/);
  setInput('force', 'TRUE');
  assert.equal(readBool('force'), true);
});

test('readBool takes what getBooleanInput takes, and shows a refused value as given', () => {
  for (const [raw, want] of [['true', true], ['True', true], ['TRUE', true], ['false', false], ['False', false], ['FALSE', false]] as const) {
    setInput('force', raw);
    assert.equal(readBool('force'), want, raw);
  }
  for (const raw of ['yes', 'No', 'on', 'off', '1', '0', 'tRUE']) {
    setInput('force', raw);
    assert.throws(() => readBool('force'), { message: `Input "force" is ${JSON.stringify(raw)}: expected true or false (also True, TRUE, False, FALSE).` });
  }
});

test('readSecret with header: true refuses line breaks and non-ASCII without showing the value', () => {
  for (const [raw, why] of [['ghp_one\nghp_two', /contains a line break/], ['ghp_tokén', /contains a non-ASCII character/], ['ghp_\u0007bell', /contains a control character/]] as const) {
    setInput('github_token', raw);
    assert.throws(() => readSecret('github_token', { header: true }), (err: Error) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /^Input "github_token": the value \(not shown, it is a secret\)/);
      assert.match(err.message, why);
      assert.ok(!err.message.includes('ghp_'), err.message);
      return true;
    });
  }
  setInput('github_token', 'ghp_valid-token_123');
  assert.equal(readSecret('github_token', { header: true }), 'ghp_valid-token_123');
});

test('readList splits commas and newlines, checks items and duplicates', () => {
  setInput('zones', 'us-central1-a, us-central1-b\nus-central1-c\n');
  assert.deepEqual(readList('zones'), ['us-central1-a', 'us-central1-b', 'us-central1-c']);
  setInput('zones', 'us-central1-a,bogus');
  assert.throws(() => readList('zones', { item: /^[a-z]+-[a-z]+\d-[a-z]$/, accepted: 'a zone' }), /item "bogus" is not a zone/);
  setInput('zones', 'a,a');
  assert.throws(() => readList('zones', { unique: true }), /listed twice/);
});

test('durations', () => {
  assert.equal(parseDuration('90'), 90);
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('3600s'), 3600);
  assert.equal(parseDuration('soon'), undefined);
  setInput('access_token_lifetime', '2h');
  assert.throws(() => readDuration('access_token_lifetime', { min: 1, max: 3600 }), /in seconds from 1 to 3600/);
});
