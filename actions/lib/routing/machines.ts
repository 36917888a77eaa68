/**
 * The private machines the suite routes to: one typed table (label, architecture, GPU memory),
 * overridable by the route-job `machines` input (a JSON array of the same shape).
 */
import { describeError, InputError } from '../errors.js';

export type Arch = 'amd64' | 'arm64';

export interface Machine {
  /** The runner label jobs target (`runs-on: [self-hosted, <label>]`). */
  label: string;
  arch: Arch;
  /** GPU memory a job can use, GB (unified memory machines: the shared pool). */
  gpuMemoryGb: number;
  /** GPUs in the machine. */
  gpus: number;
  /** CPU and GPU share one memory pool (DGX Spark GB10, Jetson). */
  unifiedMemory: boolean;
  /** What the machine is for, shown in the summary. */
  role: string;
}

export const DEFAULT_MACHINES: readonly Machine[] = [
  { label: 'wsl2', arch: 'amd64', gpuMemoryGb: 8, gpus: 1, unifiedMemory: false, role: 'x86_64 laptop, RTX 4060 8 GB: light CI' },
  { label: 'dgx', arch: 'arm64', gpuMemoryGb: 128, gpus: 1, unifiedMemory: true, role: 'DGX Spark, GB10, 128 GB unified: fine-tuning' },
  { label: 'agx', arch: 'arm64', gpuMemoryGb: 64, gpus: 1, unifiedMemory: true, role: 'Jetson AGX Orin, 64 GB unified: edge inference' },
];

const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const ARCH_ALIASES: Record<string, Arch> = { amd64: 'amd64', x86_64: 'amd64', x64: 'amd64', arm64: 'arm64', aarch64: 'arm64' };

/** Parse the `machines` input: a JSON array of {label, arch, gpu_memory_gb|gpuMemoryGb, gpus?, unified_memory?, role?}. */
export function parseMachines(raw: string, input = 'machines'): Machine[] {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new InputError(input, raw, `expected a JSON array of machines (${describeError(err)}).`);
  }
  const accepted = 'a JSON array of {"label", "arch": "amd64"|"arm64", "gpu_memory_gb", "gpus"?, "unified_memory"?, "role"?}';
  if (!Array.isArray(value) || value.length === 0) throw new InputError(input, raw, `expected ${accepted} with at least one machine.`);
  const out: Machine[] = [];
  for (const [i, item] of value.entries()) {
    if (!item || typeof item !== 'object') throw new InputError(input, raw, `item ${i} is not an object; expected ${accepted}.`);
    const m = item as Record<string, unknown>;
    const label = m.label;
    if (typeof label !== 'string' || !LABEL.test(label)) throw new InputError(input, raw, `item ${i}: "label" must be a runner label such as dgx.`);
    if (out.some((o) => o.label.toLowerCase() === label.toLowerCase())) throw new InputError(input, raw, `label "${label}" is listed twice.`);
    const arch = typeof m.arch === 'string' ? ARCH_ALIASES[m.arch.toLowerCase()] : undefined;
    if (!arch) throw new InputError(input, raw, `item ${i} (${label}): "arch" must be amd64 or arm64.`);
    const mem = m.gpu_memory_gb ?? m.gpuMemoryGb;
    if (typeof mem !== 'number' || !(mem >= 0) || mem > 100000) throw new InputError(input, raw, `item ${i} (${label}): "gpu_memory_gb" must be a number of GB.`);
    const gpus = m.gpus ?? 1;
    if (typeof gpus !== 'number' || !Number.isInteger(gpus) || gpus < 0 || gpus > 64) throw new InputError(input, raw, `item ${i} (${label}): "gpus" must be a whole number from 0 to 64.`);
    const unified = m.unified_memory ?? m.unifiedMemory ?? false;
    if (typeof unified !== 'boolean') throw new InputError(input, raw, `item ${i} (${label}): "unified_memory" must be true or false.`);
    const role = m.role ?? '';
    if (typeof role !== 'string') throw new InputError(input, raw, `item ${i} (${label}): "role" must be text.`);
    out.push({ label, arch, gpuMemoryGb: mem, gpus, unifiedMemory: unified, role });
  }
  return out;
}
