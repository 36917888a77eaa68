import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseInputDefaults } from '../../actions/lib/action-yml.js';
import { listActions } from '../../scripts/bundle.js';
import { ROOT } from '../harness.js';

test("the action.yml reader gives every action's input defaults exactly as a YAML parser does", () => {
  for (const name of listActions()) {
    const text = readFileSync(join(ROOT, 'actions', name, 'action.yml'), 'utf8');
    const inputs = (parse(text) as { inputs: Record<string, { default?: unknown }> }).inputs;
    const want = new Map(Object.entries(inputs).filter(([, s]) => s.default !== undefined).map(([k, s]) => [k, String(s.default)]));
    assert.deepEqual(parseInputDefaults(text), want, name);
  }
});

test('the action.yml reader takes quoted, plain and block scalars and ignores other blocks', () => {
  const text = [
    'name: x',
    'inputs:',
    '  a:',
    '    description: >-',
    '      default: not this',
    "    default: 'it''s'",
    '  b:',
    '    default: "tab\\there"',
    '  c:',
    '    default: plain # comment',
    '  d:',
    '    default: |',
    '      one',
    '      two',
    '  e:',
    '    default: >-',
    '      folded',
    '      line',
    '  f:',
    '    required: true',
    'outputs:',
    '  g:',
    '    default: nope',
  ].join('\n');
  assert.deepEqual(
    parseInputDefaults(text),
    new Map([
      ['a', "it's"],
      ['b', 'tab\there'],
      ['c', 'plain'],
      ['d', 'one\ntwo\n'],
      ['e', 'folded line'],
    ]),
  );
});
