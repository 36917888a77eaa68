/**
 * The definition of a new GPU node pool from node-pool-expand's inputs, with the GPU defaults:
 * the machine type that carries the requested cards (actions/lib/gpu.ts), the
 * `nvidia.com/gpu=present:NoSchedule` taint, GKE-managed driver installation, and the suite's
 * `mlabs-managed: "true"` label (node-pool-destroy refuses pools without it).
 */
import { ActionError } from '../errors.js';
import { defaultMachineType, findGpuType, GPU_TYPE_NAMES } from '../gpu.js';
import type { NodePool, NodeTaint } from '../google/container.js';

export const MANAGED_LABEL = 'mlabs-managed';
export const DEFAULT_GPU_TAINT = 'nvidia.com/gpu=present:NoSchedule';
export const DRIVER_VERSIONS = ['default', 'latest', 'disabled'] as const;
export type DriverVersion = (typeof DRIVER_VERSIONS)[number];

export interface GpuPoolSpec {
  name: string;
  acceleratorType: string;
  /** Cards per node. */
  acceleratorCount: number;
  machineType?: string;
  /** Nodes per zone when not autoscaling; the initial count when autoscaling. */
  nodeCount: number;
  /** Autoscaling bounds (per zone); autoscaling is on when maxNodes > 0. */
  minNodes?: number;
  maxNodes?: number;
  spot: boolean;
  diskSizeGb: number;
  diskType: string;
  /** `key=value:Effect` (Effect: NoSchedule, PreferNoSchedule, NoExecute). */
  taints: string[];
  labels: Record<string, string>;
  driver: DriverVersion;
  imageType?: string;
  serviceAccount?: string;
  version?: string;
}

const EFFECTS: Record<string, NodeTaint['effect']> = {
  noschedule: 'NO_SCHEDULE',
  prefernoschedule: 'PREFER_NO_SCHEDULE',
  noexecute: 'NO_EXECUTE',
};

export function parseTaint(text: string): NodeTaint {
  const m = /^([A-Za-z0-9./_-]+)(?:=([A-Za-z0-9._-]*))?:([A-Za-z]+)$/.exec(text.trim());
  const effect = m ? EFFECTS[(m[3] as string).toLowerCase()] : undefined;
  if (!m || !effect) {
    throw new ActionError(`Taint ${JSON.stringify(text)} is not KEY=VALUE:EFFECT with EFFECT one of NoSchedule, PreferNoSchedule, NoExecute.`);
  }
  return { key: m[1] as string, ...(m[2] ? { value: m[2] } : {}), effect };
}

export function parseLabels(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const it of items) {
    const m = /^([A-Za-z0-9./_-]+)=([A-Za-z0-9._-]*)$/.exec(it.trim());
    if (!m) throw new ActionError(`Label ${JSON.stringify(it)} is not KEY=VALUE.`);
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

export function buildGpuPool(spec: GpuPoolSpec): NodePool {
  const type = findGpuType(spec.acceleratorType);
  if (!type) {
    throw new ActionError(`Accelerator type ${JSON.stringify(spec.acceleratorType)} is not one the suite knows.`, { fix: `Use one of: ${GPU_TYPE_NAMES.join(', ')}.` });
  }
  const machineType = spec.machineType || defaultMachineType(type, spec.acceleratorCount);
  if (!machineType) {
    throw new ActionError(`No machine type carries ${spec.acceleratorCount} ${type.displayName} cards per node.`, {
      fix: `Use an accelerator_count of ${Object.keys(type.machineTypes).join(', ')}, or set machine_type.`,
    });
  }
  const autoscale = (spec.maxNodes ?? 0) > 0;
  if (autoscale && (spec.minNodes ?? 0) > (spec.maxNodes ?? 0)) {
    throw new ActionError(`min_nodes (${spec.minNodes}) is greater than max_nodes (${spec.maxNodes}).`);
  }
  const driver = { default: 'DEFAULT', latest: 'LATEST', disabled: 'INSTALLATION_DISABLED' } as const;
  const pool: NodePool = {
    name: spec.name,
    initialNodeCount: autoscale ? Math.min(Math.max(spec.nodeCount, spec.minNodes ?? 0), spec.maxNodes ?? spec.nodeCount) : spec.nodeCount,
    config: {
      machineType,
      diskSizeGb: spec.diskSizeGb,
      diskType: spec.diskType,
      imageType: spec.imageType ?? 'COS_CONTAINERD',
      oauthScopes: ['https://www.googleapis.com/auth/cloud-platform'],
      ...(spec.serviceAccount ? { serviceAccount: spec.serviceAccount } : {}),
      accelerators: [
        {
          acceleratorType: type.name,
          acceleratorCount: String(spec.acceleratorCount),
          gpuDriverInstallationConfig: { gpuDriverVersion: driver[spec.driver] },
        },
      ],
      labels: { ...spec.labels, [MANAGED_LABEL]: 'true' },
      resourceLabels: { [MANAGED_LABEL]: 'true' },
      taints: spec.taints.map(parseTaint),
      ...(spec.spot ? { spot: true } : {}),
    },
    management: { autoRepair: true, autoUpgrade: true },
    ...(autoscale ? { autoscaling: { enabled: true, minNodeCount: spec.minNodes ?? 0, maxNodeCount: spec.maxNodes as number, locationPolicy: 'ANY' } } : {}),
    ...(spec.version ? { version: spec.version } : {}),
  };
  return pool;
}

/** Whether a pool carries the suite's managed label (node labels or GCE resource labels). */
export function isManaged(pool: NodePool): boolean {
  return pool.config?.labels?.[MANAGED_LABEL] === 'true' || pool.config?.resourceLabels?.[MANAGED_LABEL] === 'true';
}
