// local-stack through the bundle on the sandbox's dgx machine: a repeated undeploy reports that it
// changed nothing, and a helm that exits before reading the NGC key from stdin is reported as
// helm's failure (20 runs in a row), never as a crash on the write to its closed stdin.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { explain, NGC_KEY, startStack, statusOf, type StackFixture } from './helpers.js';

const STACK = /^\s+at .+:\d+:\d+\)?$/m;

describe('local-stack hardening', () => {
  let f: StackFixture;
  beforeAll(async () => {
    f = await startStack('dgx');
  });
  afterAll(async () => f?.stop());

  it('a second undeploy finds nothing to remove: changed is false', async () => {
    const up = await f.run({ operation: 'deploy', components: 'qdrant' });
    assert.equal(up.exitCode, 0, explain(up));
    const first = await f.run({ operation: 'undeploy', components: 'qdrant' });
    assert.equal(first.exitCode, 0, explain(first));
    assert.equal(first.outputs.changed, 'true');
    const again = await f.run({ operation: 'undeploy', components: 'qdrant' });
    assert.equal(again.exitCode, 0, explain(again));
    assert.equal(again.outputs.changed, 'false', JSON.stringify(statusOf(again)));
    assert.deepEqual(statusOf(again)[0]?.changed, []);
  });

  it('helm exiting before it reads the NGC key: helm repo add is reported failed, no crash, 20 runs in a row', async () => {
    const helmPath = join(f.standins, 'helm');
    const recorded = readFileSync(helmPath, 'utf8');
    // `list` answers no release; everything else exits 1 at once without reading stdin.
    writeFileSync(helmPath, '#!/bin/sh\nif [ "$1" = list ]; then echo "[]"; exit 0; fi\necho "Error: looks like the repository is unreachable" >&2\nexit 1\n');
    try {
      for (let i = 0; i < 20; i++) {
        const run = await f.run({ operation: 'deploy', components: 'nemo', ngc_api_key: NGC_KEY });
        const where = `run ${i + 1}: ${explain(run)}`;
        assert.equal(run.exitCode, 1, where);
        const errors = run.main.annotations.filter((a) => a.level === 'error');
        assert.equal(errors.length, 1, where);
        assert.match(errors[0]?.message ?? '', /nemo: helm repo add https:\/\/helm\.ngc\.nvidia\.com\/nvidia\/nemo-microservices failed: Error: looks like the repository is unreachable/, where);
        assert.doesNotMatch(run.main.stderr, /EPIPE|node:internal/, where);
        assert.doesNotMatch(run.main.stdout + run.main.stderr, STACK, where);
        assert.deepEqual(run.leaks(NGC_KEY), [], where);
      }
    } finally {
      writeFileSync(helmPath, recorded);
    }
  });
});
