/** A component's health checks, through the API server's service proxy. */
import { sleep } from '../time.js';
import type { Kubectl } from './kubectl.js';
import { type ComponentSpec, isOperator, OPERATORS } from './matrix.js';

/** Health through the API server's service proxy: one line per check. */
export async function healthOf(k: Kubectl, spec: ComponentSpec, deadline: number): Promise<{ ok: boolean; text: string }> {
  if (isOperator(spec.name)) return controllerHealth(k, spec.namespace, OPERATORS[spec.name].deployment);
  const parts: string[] = [];
  let ok = true;
  for (const h of spec.health) {
    const path = `/api/v1/namespaces/${spec.namespace}/services/${h.service}:${h.port}/proxy${h.path}`;
    let r = await k.run(['get', '--raw', path]);
    while (r.code !== 0 && Date.now() < deadline) {
      await sleep(1000);
      r = await k.run(['get', '--raw', path]);
    }
    if (r.code === 0) parts.push(`${h.service} ${h.path} ok`);
    else {
      ok = false;
      parts.push(`${h.service} ${h.path} failing: ${(r.stderr.split('\n').find((l) => l.trim()) ?? '').replace(/^Error from server \(\w+\): /, '').trim()}`);
    }
  }
  return { ok, text: parts.join('; ') };
}

/** An operator's health: its controller Deployment is available (it serves no HTTP a user calls). */
async function controllerHealth(k: Kubectl, namespace: string, name: string): Promise<{ ok: boolean; text: string }> {
  const r = await k.run(['get', 'deployment', name, '-n', namespace, '-o', 'json']);
  if (r.code !== 0) return { ok: false, text: `deployment/${name} failing: ${(r.stderr.split('\n').find((l) => l.trim()) ?? '').trim()}` };
  const d = JSON.parse(r.stdout) as { spec?: { replicas?: number }; status?: { availableReplicas?: number } };
  const want = d.spec?.replicas ?? 1;
  const have = d.status?.availableReplicas ?? 0;
  return have >= want ? { ok: true, text: `deployment/${name} available ${have}/${want}` } : { ok: false, text: `deployment/${name} failing: available ${have}/${want}` };
}
