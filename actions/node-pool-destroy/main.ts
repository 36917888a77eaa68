import { runAction } from '../lib/entry.js';
import { InputError } from '../lib/errors.js';
import { readBool } from '../lib/inputs.js';
import { notice, setOutput } from '../lib/runner.js';
import { poolGpus } from '../lib/nodepool/cost.js';
import { destroyNodePool } from '../lib/nodepool/destroy.js';
import { readBucket, readCommon } from '../lib/nodepool/inputs.js';
import { writePoolSummary } from '../lib/nodepool/report.js';

/** Every input, read and checked once. */
function readInputs() {
  const { ref, pool, deadline } = readCommon();
  const snapshot = readBool('snapshot');
  const bucket = readBucket(false);
  if (snapshot && !bucket) throw new InputError('bucket', '', 'a bucket is required to snapshot the pool before deleting it.', 'Set bucket, or snapshot: false to delete without a snapshot.');
  const force = readBool('force');
  return { ref, pool, deadline, snapshot, bucket, force };
}

await runAction({
  async main() {
    const { ref, pool, deadline, snapshot, bucket, force } = readInputs();
    const result = await destroyNodePool(ref, pool, { bucket: snapshot ? bucket : undefined, force, deadline });
    setOutput('deleted', result.outcome === 'deleted');
    setOutput('snapshot_uri', result.snapshot?.uri ?? '');
    setOutput('snapshot_generation', result.snapshot?.generation ?? '');
    const cost = result.pool ? poolGpus(result.pool, result.snapshot?.snapshot.nodeCount) : undefined;
    setOutput('hourly_cost_saved', result.outcome === 'deleted' && cost?.hourlyUsd !== undefined ? cost.hourlyUsd.toFixed(2) : '');
    if (result.note) notice(result.note);
    writePoolSummary({
      title: `Node pool destroyed: ${pool}`,
      ref,
      poolName: pool,
      pool: result.pool,
      outcome: result.outcome === 'deleted' ? 'deleted' : 'already gone (nothing to do)',
      zones: result.pool?.locations,
      rows: [
        ['Snapshot', result.snapshot ? `${result.snapshot.uri} (generation ${result.snapshot.generation})` : snapshot ? 'none (pool absent)' : 'skipped (snapshot: false)'],
        ...(force ? ([['Force', 'true']] as [string, string][]) : []),
      ],
      notes: result.note ? [result.note] : [],
    });
  },
});
