/** One row of the local stack's report: a component's images, requests, status, health, URL and tunnel line. */
import { type Component, type ComponentSpec, formatRequests, imageRef, type NodeFacts } from './matrix.js';

/** One workstation port forwarded over SSH to a service of the stack. */
export interface Forward {
  /** The workstation's port (unprivileged, different for every service). */
  localPort: number;
  /** Where the machine sends it: the minikube node's NodePort, or a port-forward on the machine. */
  targetHost: string;
  targetPort: number;
  /** The command to run on the machine first, for a service without a NodePort. */
  portForward?: string;
}

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
  /** The component's own `ssh -N` line (filled in by tunnelLines from the forwards and the SSH target). */
  tunnel: string;
  forwards: Forward[];
  changed: string[];
  error?: string;
}

/** A DNS name or address a workstation can reach the machine by (input ssh_host). */
export const SSH_HOST_PATTERN = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** A POSIX login name (input ssh_user). */
export const SSH_USER_PATTERN = /^[a-z_][a-z0-9_.-]{0,31}$/;

/** The user and host a workstation reaches the machine by (inputs ssh_user/ssh_host). */
export interface SshTarget {
  host: string;
  user: string;
}

function forwardsOf(spec: ComponentSpec, node: NodeFacts | undefined): Forward[] {
  return spec.endpoints.flatMap((ep): Forward[] => {
    if (ep.nodePort) return node ? [{ localPort: ep.localPort, targetHost: node.internalIp, targetPort: ep.nodePort }] : [];
    return [{
      localPort: ep.localPort,
      targetHost: '127.0.0.1',
      targetPort: ep.localPort,
      portForward: `kubectl -n ${spec.namespace} port-forward svc/${ep.service} ${ep.localPort}:${ep.port}`,
    }];
  });
}

/** `user@host`, or `host` alone when no user is given. */
export function sshDestination(target: SshTarget): string {
  return target.user ? `${target.user}@${target.host}` : target.host;
}

/** One `ssh -N` line forwarding every port given, with the port-forwards to start on the machine first. */
export function sshLine(forwards: readonly Forward[], target: SshTarget): string {
  if (!forwards.length) return '';
  const ls = forwards.map((f) => `-L ${f.localPort}:${f.targetHost}:${f.targetPort}`).join(' ');
  const first = forwards.flatMap((f) => (f.portForward ? [f.portForward] : []));
  return `ssh -N ${ls} ${sshDestination(target)}${first.length ? `  # after, on the machine: ${first.join('; ')}` : ''}`;
}

/** Fill each result's own tunnel line, and return the one line that forwards every service at once. */
export function tunnelLines(results: ComponentResult[], target: SshTarget): string {
  for (const r of results) r.tunnel = sshLine(r.forwards, target);
  return sshLine(results.flatMap((r) => r.forwards), target);
}

export function resultBase(spec: ComponentSpec, node: NodeFacts | undefined): ComponentResult {
  const imgs = node ? (spec.images[node.platform] ?? []) : [];
  return {
    component: spec.name, namespace: spec.namespace, version: spec.version,
    images: imgs.map(imageRef), architecture: node ? `${node.platform} (${node.arch})` : '', requests: formatRequests(spec.requests),
    status: '', health: '', url: spec.endpoints[0] ? `http://${spec.endpoints[0].service}.${spec.namespace}.svc.cluster.local:${spec.endpoints[0].port}` : '',
    tunnel: '', forwards: forwardsOf(spec, node), changed: [],
  };
}
