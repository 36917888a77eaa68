/** The labels every object the local stack creates carries, so that undeploy finds its own. */
import type { Component } from './matrix.js';

export const MANAGED_BY = 'mlabs-actions';

/** managed-by, part-of and the component: on namespaces and secrets. */
export function stackLabels(component: Component): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/part-of': 'mlabs-local-stack', 'mlabs.dev/component': component };
}
