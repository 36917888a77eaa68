import { runAction } from '../lib/entry.js';
import { readBool, readString } from '../lib/inputs.js';
import { setOutput, warning } from '../lib/runner.js';
import { poolGpus } from '../lib/nodepool/cost.js';
import { FailoverError } from '../lib/nodepool/failover.js';
import { readBucket, readCommon, readServiceAccount } from '../lib/nodepool/inputs.js';
import { writePoolSummary } from '../lib/nodepool/report.js';
import { restoreNodePool } from '../lib/nodepool/restore.js';
import { requireCluster, loadSnapshot } from '../lib/nodepool/snapshot.js';
import { readZones } from '../lib/nodepool/zones.js';

/** `latest`, or gs://BUCKET/OBJECT of one snapshot: a bucket name and an object path ending in .json. */
const SNAPSHOT_SOURCE = /^(latest|gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]\/[^\s?#]+\.json)$/;

/** Every input, read and checked once. */
function readInputs() {
  const { ref, pool, deadline } = readCommon();
  const bucket = readBucket(true);
  const source = readString('snapshot', { pattern: SNAPSHOT_SOURCE, accepted: '"latest" or the gs://BUCKET/OBJECT URI of one snapshot (.json)' });
  const zones = readZones(ref.location);
  const replace = readBool('replace');
  const serviceAccount = readServiceAccount();
  return { ref, pool, deadline, bucket, source, zones, replace, serviceAccount };
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((z) => b.includes(z));

await runAction({
  async main() {
    const { ref, pool, deadline, bucket, source, zones, replace, serviceAccount } = readInputs();
    const cluster = await requireCluster(ref);
    const snap = await loadSnapshot(bucket, ref.cluster, pool, source);
    if (snap.snapshot.pool !== pool) warning(`The snapshot is of pool ${snap.snapshot.pool}; it is restored under that name.`);
    setOutput('snapshot_uri', snap.uri);
    try {
      const r = await restoreNodePool(ref, cluster, snap, { zones, replace, deadline, ...(serviceAccount ? { serviceAccount } : {}) });
      const cost = poolGpus(r.pool);
      setOutput('outcome', r.outcome);
      setOutput('zones', r.zones.join(','));
      setOutput('version', r.pool.version ?? '');
      setOutput('attempts', JSON.stringify(r.attempts));
      setOutput('hourly_cost', cost.hourlyUsd !== undefined ? cost.hourlyUsd.toFixed(2) : '');
      writePoolSummary({
        title: `Node pool restored: ${snap.snapshot.pool}`,
        ref,
        poolName: snap.snapshot.pool,
        pool: r.pool,
        outcome: r.outcome === 'unchanged' ? 'unchanged (already matches the snapshot, zones included)' : r.outcome === 'moved' ? 'moved (matches the snapshot except its zones)' : r.outcome,
        zones: r.zones,
        attempts: r.attempts,
        rows: [
          ['Snapshot', `${snap.uri} (taken ${snap.snapshot.createdAt})`],
          ['Zones recorded', r.recordedZones.length ? `${r.recordedZones.join(', ')}${sameSet(r.zones, r.recordedZones) ? ' (kept)' : ' (changed, see below)'}` : 'none recorded (the cluster\'s zones)'],
          ['Nodes per zone', String(r.pool.initialNodeCount ?? '')],
        ],
        notes: [...(r.versionNote ? [r.versionNote] : []), ...r.notes],
      });
    } catch (err) {
      if (err instanceof FailoverError) {
        setOutput('attempts', JSON.stringify(err.attempts));
        writePoolSummary({ title: `Node pool restore failed: ${snap.snapshot.pool}`, ref, poolName: snap.snapshot.pool, outcome: 'failed', attempts: err.attempts, notes: [err.message] });
      }
      throw err;
    }
  },
});
