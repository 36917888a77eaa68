/**
 * The machine's node: what it has allocatable, what pods outside the stack already request on it,
 * and whether the asked components fit (refused, with the support table, before anything is applied).
 */
import { ActionError } from '../errors.js';
import { milliQuantity, parseQuantity } from '../kubernetes/quantity.js';
import { info } from '../runner.js';
import { sleep } from '../time.js';
import type { KubeObject, Kubectl } from './kubectl.js';
import { assess, type Component, componentSpecs, nodeFacts, type NodeFacts, type Requests, supportTable } from './matrix.js';

function podRequests(p: KubeObject): Requests {
  const spec = (p.spec ?? {}) as { containers?: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[] };
  const r: Requests = { cpuMilli: 0, memory: 0, gpu: 0 };
  for (const c of spec.containers ?? []) {
    const req = { ...(c.resources?.limits ?? {}), ...(c.resources?.requests ?? {}) };
    if (req.cpu) r.cpuMilli += milliQuantity(req.cpu) || 0;
    if (req.memory) r.memory += parseQuantity(req.memory) || 0;
    r.gpu += Number(c.resources?.limits?.['nvidia.com/gpu'] ?? c.resources?.requests?.['nvidia.com/gpu'] ?? 0);
  }
  return r;
}

/** The machine's node and what pods outside `exclude` namespaces already request on it. */
export async function readNode(k: Kubectl, excludeNamespaces: string[]): Promise<NodeFacts> {
  const nodes = await k.list('nodes', undefined, 'Reading the cluster nodes');
  const node = nodes.find((n) => ((n.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')) ?? nodes[0];
  if (!node) throw new ActionError('The cluster reports no node.', { fix: 'Check `minikube status` on the machine.' });
  const pods = await k.list('pods', undefined, 'Reading the pods on the node');
  const used: Requests = { cpuMilli: 0, memory: 0, gpu: 0 };
  for (const p of pods) {
    const phase = String((p.status as { phase?: string } | undefined)?.phase ?? '');
    if (['Succeeded', 'Failed'].includes(phase) || excludeNamespaces.includes(p.metadata.namespace ?? '')) continue;
    if ((p.spec as { nodeName?: string } | undefined)?.nodeName !== node.metadata.name) continue;
    const r = podRequests(p);
    used.cpuMilli += r.cpuMilli;
    used.memory += r.memory;
    used.gpu += r.gpu;
  }
  return nodeFacts(node as unknown as Parameters<typeof nodeFacts>[0], used);
}

/** Wait (bounded) for the NVIDIA device plugin to make nvidia.com/gpu allocatable. */
async function waitForGpu(k: Kubectl, node: NodeFacts, exclude: string[], deadline: number): Promise<NodeFacts> {
  let n = node;
  while (n.allocatable.gpu < 1 && Date.now() < deadline) {
    info(`waiting for the NVIDIA device plugin: node ${n.name} has no allocatable nvidia.com/gpu yet`);
    await sleep(3000);
    n = await readNode(k, exclude);
  }
  return n;
}

export class Refusal extends ActionError {
  constructor(message: string, readonly table: string, fix: string) {
    super(`${message}\n${table}`, { fix });
    this.name = 'Refusal';
  }
}

/** Assess the asked components against the node; refuse with the table before anything is applied. */
export async function assessOrRefuse(k: Kubectl, components: Component[], nimModel: string, timeoutMs: number): Promise<NodeFacts> {
  const specs = componentSpecs(nimModel);
  const exclude = components.map((c) => specs[c].namespace);
  let node = await readNode(k, exclude);
  const wantsGpu = components.some((c) => specs[c].requests.gpu > 0 || specs[c].needsGpuNode);
  if (wantsGpu && node.allocatable.gpu < 1 && node.arch !== 'unknown' && /nvidia/i.test(node.gpuProduct || 'nvidia')) {
    node = await waitForGpu(k, node, exclude, Date.now() + Math.min(timeoutMs, 120_000));
  }
  const a = assess(components, node, specs);
  info(supportTable(a, node));
  if (!a.ok) {
    const refused = a.verdicts.filter((v) => !v.supported).map((v) => v.component);
    throw new Refusal(
      refused.length ? `Refused before anything was applied: ${refused.join(', ')} cannot run on ${node.name}.` : `Refused before anything was applied: the components' requests do not fit on ${node.name} (${a.misfit.join('; ')}).`,
      supportTable(a, node),
      'Ask only for components the table marks supported, and fewer at once when they do not fit (GPU components each take a whole GPU).',
    );
  }
  return node;
}
