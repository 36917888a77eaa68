import { runAction } from '../lib/entry.js';
import { ActionError, describeError, InputError } from '../lib/errors.js';
import { EMAIL_PATTERN, readBool, readEnum, readInt, readList, readString } from '../lib/inputs.js';
import { info, setOutput } from '../lib/runner.js';
import { gpusPerNodeOptions, machineTypeProblem, orList, readAccelerator } from '../lib/gpu.js';
import { ensureGpuQuota } from '../lib/gpu-quota.js';
import { poolGpus } from '../lib/nodepool/cost.js';
import { expandNodePool } from '../lib/nodepool/expand.js';
import { FailoverError } from '../lib/nodepool/failover.js';
import { readCommon, readServiceAccount } from '../lib/nodepool/inputs.js';
import { writePoolSummary } from '../lib/nodepool/report.js';
import { requireCluster } from '../lib/nodepool/snapshot.js';
import { DRIVER_VERSIONS, parseLabels, parseTaint, type GpuPoolSpec } from '../lib/nodepool/spec.js';
import { clusterRegion, readZones } from '../lib/nodepool/zones.js';

/** The boot disk types action.yml documents. */
const DISK_TYPES = ['pd-balanced', 'pd-ssd', 'pd-standard', 'hyperdisk-balanced'] as const;

/** Every input, read and checked once. */
function readInputs() {
  const { ref, pool, deadline, timeoutSeconds } = readCommon();
  const type = readAccelerator('accelerator_type');
  const taintItems = readList('taints');
  const noTaint = taintItems.length === 1 && taintItems[0] === 'none';
  for (const t of noTaint ? [] : taintItems) {
    try {
      parseTaint(t);
    } catch (err) {
      throw new InputError('taints', t, describeError(err));
    }
  }
  let labels: Record<string, string>;
  try {
    labels = parseLabels(readList('labels'));
  } catch (err) {
    throw new InputError('labels', readString('labels'), describeError(err));
  }
  const perNode = gpusPerNodeOptions(type);
  const acceleratorCount = readInt('accelerator_count', { min: 1, max: 16 });
  if (!perNode.includes(acceleratorCount)) {
    throw new InputError('accelerator_count', String(acceleratorCount), `a ${type.name} node carries ${orList(perNode)} GPUs.`);
  }
  const machineType = readString('machine_type', { pattern: /^[a-z][a-z0-9]*-[a-z0-9-]+$/, accepted: 'a machine type such as g2-standard-4' }) || undefined;
  const machineProblem = machineType ? machineTypeProblem(type, acceleratorCount, machineType) : undefined;
  if (machineType && machineProblem) throw new InputError('machine_type', machineType, machineProblem);
  const nodeCount = readInt('node_count', { min: 0, max: 1000 });
  const minNodes = readInt('min_nodes', { min: 0, max: 1000 });
  const maxNodes = readInt('max_nodes', { min: 0, max: 1000 });
  if (maxNodes > 0 && minNodes > maxNodes) throw new InputError('min_nodes', String(minNodes), `expected at most max_nodes (${maxNodes}).`);
  if (maxNodes > 0 && (nodeCount < minNodes || nodeCount > maxNodes)) {
    throw new InputError('node_count', String(nodeCount), `with autoscaling the initial node count must be from min_nodes (${minNodes}) to max_nodes (${maxNodes}).`);
  }
  const spec: GpuPoolSpec = {
    name: pool,
    acceleratorType: type.name,
    acceleratorCount,
    machineType,
    nodeCount,
    minNodes,
    maxNodes,
    spot: readBool('spot'),
    diskSizeGb: readInt('disk_size_gb', { min: 10, max: 65536 }),
    diskType: readEnum('disk_type', DISK_TYPES),
    taints: noTaint ? [] : taintItems,
    labels,
    driver: readEnum('gpu_driver', DRIVER_VERSIONS),
    serviceAccount: readServiceAccount(),
  };
  const zones = readZones(ref.location);
  const ensureQuota = readBool('ensure_quota');
  const contactEmail = readString('quota_contact_email', { pattern: EMAIL_PATTERN, accepted: 'an e-mail address such as gpu-admins@example.com' });
  const justification = readString('quota_justification');
  if (ensureQuota && !contactEmail) throw new InputError('quota_contact_email', '', 'required with ensure_quota: true (Google asks for it on increase requests).');
  return { ref, pool, deadline, timeoutSeconds, type, spec, zones, ensureQuota, contactEmail, justification };
}

await runAction({
  async main() {
    const { ref, pool, deadline, timeoutSeconds, type, spec, zones, ensureQuota, contactEmail, justification } = readInputs();

    const cluster = await requireCluster(ref);
    const region = clusterRegion(cluster, ref.location);
    // ensure_quota: the quotas must hold what runs now plus what this pool adds.
    const beforeGrow = ensureQuota
      ? async (more: number) => {
          info(`ensure_quota: ${more} more ${type.name} GPUs in ${region} than in use now`);
          const q = await ensureGpuQuota({ project: ref.project, type, region, spot: spec.spot, count: more, additional: true, justification, contactEmail, waitSeconds: Math.min(timeoutSeconds, 600), pollSeconds: 10 });
          if (q.state !== 'sufficient' && q.state !== 'granted' && q.state !== 'unchanged') {
            throw new ActionError(`GPU quota for ${more} more ${type.name} in ${region} (regional limit ${q.regional.target}, global ${q.global.target}) is ${q.state}.`, {
              fix: 'See the gpu-quota action, or lower node_count / max_nodes.',
            });
          }
        }
      : undefined;
    try {
      const r = await expandNodePool(ref, cluster, spec, zones, deadline, { beforeGrow });
      const g = poolGpus(r.pool, r.nodes);
      setOutput('outcome', r.outcome);
      setOutput('zones', r.zones.join(','));
      setOutput('attempts', JSON.stringify(r.attempts));
      setOutput('gpus', g.total);
      setOutput('hourly_cost', g.hourlyUsd !== undefined ? g.hourlyUsd.toFixed(2) : '');
      writePoolSummary({ title: `GPU node pool: ${pool}`, ref, poolName: pool, pool: r.pool, outcome: `${r.outcome}${r.changes.length && r.outcome !== 'created' ? ` (${r.changes.join(', ')})` : ''}`, zones: r.zones, attempts: r.attempts });
    } catch (err) {
      if (err instanceof FailoverError) {
        setOutput('attempts', JSON.stringify(err.attempts));
        writePoolSummary({ title: `GPU node pool: ${pool} could not be created`, ref, poolName: pool, outcome: 'failed', attempts: err.attempts, notes: [err.message] });
      }
      throw err;
    }
  },
});
