import { runAction } from '../lib/entry.js';
import { setOutput } from '../lib/runner.js';
import { readBucket, readCommon } from '../lib/nodepool/inputs.js';
import { writePoolSummary } from '../lib/nodepool/report.js';
import { latestObject, snapshotNodePool } from '../lib/nodepool/snapshot.js';

/** Every input, read and checked once. */
function readInputs() {
  const { ref, pool, deadline } = readCommon();
  const bucket = readBucket(true);
  return { ref, pool, deadline, bucket };
}

await runAction({
  async main() {
    const { ref, pool, deadline, bucket } = readInputs();
    const snap = await snapshotNodePool(ref, pool, bucket, { deadline });
    const latestUri = `gs://${bucket}/${latestObject(ref.cluster, pool)}`;
    setOutput('uri', snap.uri);
    setOutput('generation', snap.generation);
    setOutput('checksum', snap.snapshot.checksum);
    setOutput('latest_uri', latestUri);
    const s = snap.snapshot;
    writePoolSummary({
      title: `Node pool snapshot: ${pool}`,
      ref,
      poolName: pool,
      pool: { ...s.nodePool, locations: s.zones },
      outcome: 'snapshot written',
      zones: s.zones,
      rows: [
        ['Snapshot', `${snap.uri} (generation ${snap.generation})`],
        ['Latest pointer', snap.latestGeneration ? `${latestUri} (generation ${snap.latestGeneration})` : `${latestUri} (left at a newer snapshot)`],
        ['Versions', `control plane ${s.clusterVersion}, nodes ${s.poolVersion}`],
        ['Nodes', `${s.nodeCount} (${s.nodeCountSource})`],
        ['Checksum', s.checksum],
      ],
    });
  },
});
