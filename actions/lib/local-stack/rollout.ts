/** Waiting for a component's Deployments and StatefulSets to roll out, failing fast on a pod that cannot start. */
import { ActionError } from '../errors.js';
import { info } from '../runner.js';
import { sleep } from '../time.js';
import type { KubeObject, Kubectl } from './kubectl.js';
import type { ComponentSpec } from './matrix.js';

const FAILING = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CrashLoopBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'ErrImageNeverPull']);

interface PodJson extends KubeObject {
  status?: { phase?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[]; containerStatuses?: { name: string; state?: { waiting?: { reason?: string; message?: string } } }[]; initContainerStatuses?: { name: string; state?: { waiting?: { reason?: string; message?: string } } }[] };
}

/** Wait until every Deployment/StatefulSet of the component is rolled out; fail fast on a pod that cannot start. */
export async function waitForRollout(k: Kubectl, spec: ComponentSpec, deadline: number): Promise<void> {
  let last = '';
  for (;;) {
    const items = await k.list('deployments,statefulsets,pods', spec.namespace, `${spec.name}: reading workloads`);
    const pods = items.filter((o) => o.kind === 'Pod') as PodJson[];
    for (const p of pods) {
      for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
        const w = cs.state?.waiting;
        if (w?.reason && FAILING.has(w.reason)) {
          throw new ActionError(`${spec.name}: pod ${p.metadata.name} cannot start: ${w.reason}${w.message ? ` (${w.message})` : ''}.`, {
            fix: w.reason.includes('Image') ? 'Check the image exists for this architecture and that the pull secret (NGC key) can read it.' : 'Check the pod with `kubectl describe pod` and `kubectl logs` on the machine.',
          });
        }
      }
    }
    const pending: string[] = [];
    for (const o of items) {
      if (o.kind === 'Pod') continue;
      const want = Number((o.spec as { replicas?: number } | undefined)?.replicas ?? 1);
      const st = (o.status ?? {}) as { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; readyReplicas?: number; replicas?: number };
      const done = o.kind === 'Deployment'
        ? (st.observedGeneration ?? 0) >= (o.metadata.generation ?? 0) && (st.updatedReplicas ?? 0) >= want && (st.availableReplicas ?? 0) >= want && (st.replicas ?? 0) <= want
        : (st.readyReplicas ?? 0) >= want && (st.updatedReplicas ?? st.readyReplicas ?? 0) >= want;
      if (!done) pending.push(`${o.kind.toLowerCase()}/${o.metadata.name} ${st.readyReplicas ?? 0}/${want} ready`);
    }
    if (!pending.length) return;
    const unsched = pods.flatMap((p) => (p.status?.conditions ?? []).filter((c) => c.type === 'PodScheduled' && c.status === 'False').map((c) => `pod ${p.metadata.name}: ${c.reason ?? ''} ${c.message ?? ''}`.trim()));
    const podStates = pods.length
      ? pods.map((p) => `pod ${p.metadata.name} ${p.status?.phase ?? 'Pending'}${(p.status?.containerStatuses ?? []).map((c) => (c.state?.waiting?.reason ? ` ${c.state.waiting.reason}` : '')).join('')}`)
      : ['no pods yet'];
    const now = [...pending, ...(unsched.length ? unsched : podStates)].join('; ');
    if (now !== last) info(`${spec.name}: waiting for ${now}`);
    last = now;
    if (Date.now() > deadline) throw new ActionError(`${spec.name}: not rolled out before the timeout: ${now}.`, { fix: 'Raise `timeout`, or check the pods on the machine.' });
    await sleep(500);
  }
}
