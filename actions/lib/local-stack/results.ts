/** One row of the local stack's report: a component's images, requests, status, health, URL and tunnel line. */
import { hostname, userInfo } from 'node:os';
import { sshHost } from '../config.js';
import { type Component, type ComponentSpec, formatRequests, imageRef, type NodeFacts } from './matrix.js';

export interface ComponentResult {
  component: Component;
  namespace: string;
  version: string;
  images: string[];
  architecture: string;
  requests: string;
  /** deployed | unchanged | failed | absent | removed | ready | not-ready */
  status: string;
  health: string;
  url: string;
  tunnel: string;
  changed: string[];
  error?: string;
}

const RUNNER_HOST = (): string => sshHost() ?? hostname();

function endpointOf(spec: ComponentSpec, node: NodeFacts | undefined): { url: string; tunnel: string } {
  const ep = spec.endpoints[0];
  if (!ep) return { url: '', tunnel: '' };
  const url = `http://${ep.service}.${spec.namespace}.svc.cluster.local:${ep.port}`;
  let user: string;
  try {
    user = `${userInfo().username}@`;
  } catch {
    user = '';
  }
  const tunnel = ep.nodePort && node
    ? `ssh -N -L ${ep.port}:${node.internalIp}:${ep.nodePort} ${user}${RUNNER_HOST()}`
    : `ssh -N -L ${ep.port}:127.0.0.1:${ep.port} ${user}${RUNNER_HOST()}  # after: kubectl -n ${spec.namespace} port-forward svc/${ep.service} ${ep.port}:${ep.port}`;
  return { url, tunnel };
}

export function resultBase(spec: ComponentSpec, node: NodeFacts | undefined): ComponentResult {
  const imgs = node ? (spec.images[node.platform] ?? []) : [];
  return {
    component: spec.name, namespace: spec.namespace, version: spec.version,
    images: imgs.map(imageRef), architecture: node ? `${node.platform} (${node.arch})` : '', requests: formatRequests(spec.requests),
    status: '', health: '', ...endpointOf(spec, node), changed: [],
  };
}
