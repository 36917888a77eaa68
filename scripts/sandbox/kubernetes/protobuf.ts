// Decodes the application/vnd.kubernetes.protobuf bodies kubectl's generator subcommands send
// (`kubectl create namespace|configmap|secret|serviceaccount|service clusterip|nodeport|deployment|job|quota`) into the JSON
// the same object would have, so they take the JSON requests' validation and storage path.
// The wire format: the magic bytes "k8s\0", then a runtime.Unknown whose typeMeta names the kind and
// whose raw holds the object's own message (field numbers in protobuf.proto, from Kubernetes'
// generated.proto files). Kubernetes' Go marshaller writes every non-pointer field, empty or not;
// those come back as JSON's omitempty would leave them (absent), pointer fields keep their zero.
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import type { Json } from './store.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** The kinds whose protobuf the sandbox decodes, by apiVersion/kind. */
const KINDS: Record<string, string> = {
  'v1/Namespace': 'Namespace',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/Service': 'Service',
  'v1/ResourceQuota': 'ResourceQuota',
  'apps/v1/Deployment': 'Deployment',
  'batch/v1/Job': 'Job',
  'authentication.k8s.io/v1/TokenRequest': 'TokenRequest',
  'authentication.k8s.io/v1/SelfSubjectReview': 'SelfSubjectReview',
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'SelfSubjectAccessReview',
  'authorization.k8s.io/v1/SelfSubjectRulesReview': 'SelfSubjectRulesReview',
  'rbac.authorization.k8s.io/v1/Role': 'Role',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'ClusterRoleBinding',
};

/** Fields that are pointers in the Go types: present on the wire only when set, so a zero is meant. */
const POINTERS = new Set([
  'ObjectMeta.deletionGracePeriodSeconds',
  'OwnerReference.controller',
  'OwnerReference.blockOwnerDeletion',
  'ConfigMap.immutable',
  'Secret.immutable',
  'ServiceAccount.automountServiceAccountToken',
  'Toleration.tolerationSeconds',
  'PodSpec.terminationGracePeriodSeconds',
  'PodSpec.activeDeadlineSeconds',
  'PodSpec.automountServiceAccountToken',
  'PodSpec.priority',
  'PodSpec.enableServiceLinks',
  'PodSpec.preemptionPolicy',
  'DeploymentSpec.replicas',
  'DeploymentSpec.revisionHistoryLimit',
  'DeploymentSpec.progressDeadlineSeconds',
  'JobSpec.parallelism',
  'JobSpec.completions',
  'JobSpec.activeDeadlineSeconds',
  'JobSpec.manualSelector',
  'JobSpec.backoffLimit',
  'JobSpec.ttlSecondsAfterFinished',
  'JobSpec.completionMode',
  'JobSpec.suspend',
  'JobSpec.backoffLimitPerIndex',
  'JobSpec.maxFailedIndexes',
  'JobSpec.podReplacementPolicy',
  'JobSpec.managedBy',
  'TokenRequestSpec.expirationSeconds',
  'ServiceSpec.ipFamilyPolicy',
  'ServiceSpec.allocateLoadBalancerNodePorts',
  'ServiceSpec.loadBalancerClass',
  'ServiceSpec.internalTrafficPolicy',
  'ServiceSpec.trafficDistribution',
  'ServicePort.appProtocol',
]);

export class ProtobufBodyError extends Error {}

let root: protobuf.Root | undefined;
function types(): protobuf.Root {
  if (!root) {
    root = protobuf.parse(readFileSync(new URL('./protobuf.proto', import.meta.url), 'utf8'), { keepCase: true }).root;
    root.resolveAll();
  }
  return root;
}

/** True when the body starts with the Kubernetes protobuf magic. */
export function isKubeProtobuf(body: Buffer): boolean {
  return body.length >= 4 && body.subarray(0, 4).equals(MAGIC);
}

/** The JSON object a kubectl protobuf body stands for; ProtobufBodyError when it is not in the subset. */
export function decodeKubeProtobuf(body: Buffer): Json {
  if (!isKubeProtobuf(body)) throw new ProtobufBodyError('the body does not start with the Kubernetes protobuf magic "k8s\\x00"');
  const r = types();
  const unknown = r.lookupType('k8s.Unknown');
  const envelope = decodeExactly(unknown, body.subarray(4), 'runtime.Unknown') as { typeMeta?: { apiVersion?: string; kind?: string }; raw?: Uint8Array; contentEncoding?: string };
  const apiVersion = envelope.typeMeta?.apiVersion ?? '';
  const kind = envelope.typeMeta?.kind ?? '';
  if (envelope.contentEncoding) throw new ProtobufBodyError(`contentEncoding "${envelope.contentEncoding}" is not decoded by the sandbox`);
  const typeName = KINDS[`${apiVersion}/${kind}`];
  if (!typeName) throw new ProtobufBodyError(`the sandbox decodes protobuf for ${Object.keys(KINDS).join(', ')}, not ${apiVersion}/${kind}; send it as JSON or YAML (kubectl create -f)`);
  const type = r.lookupType(`k8s.${typeName}`);
  const msg = decodeExactly(type, Buffer.from(envelope.raw ?? new Uint8Array()), `${apiVersion}/${kind}`);
  return { apiVersion, kind, ...toJson(type, msg) };
}

/** Decodes, and refuses a message holding fields the subset does not declare (re-encoding would be shorter). */
function decodeExactly(type: protobuf.Type, bytes: Uint8Array, what: string): protobuf.Message {
  let msg: protobuf.Message;
  try {
    msg = type.decode(bytes);
  } catch (err) {
    throw new ProtobufBodyError(`error decoding ${what} from protobuf: ${(err as Error).message}`);
  }
  if (type.encode(msg).finish().length !== bytes.length)
    throw new ProtobufBodyError(`${what} holds fields the sandbox's protobuf subset does not decode (scripts/sandbox/kubernetes/protobuf.proto); send it as JSON or YAML (kubectl create -f)`);
  return msg;
}

function toNumber(v: unknown): number {
  return typeof v === 'object' && v !== null && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : Number(v);
}

function isZero(v: unknown): boolean {
  return v === '' || v === false || (typeof v === 'number' && v === 0) || (typeof v === 'object' && v !== null && 'toNumber' in v && toNumber(v) === 0);
}

function scalar(field: protobuf.Field, v: unknown): Json | string | number | boolean {
  if (field.type === 'bytes') return Buffer.from(v as Uint8Array).toString('base64');
  if (field.type === 'int64' || field.type === 'uint64' || field.type === 'sint64') return toNumber(v);
  return v as string | number | boolean;
}

/** A message value as JSON: Time as RFC 3339 (null when unset), Quantity as its string, IntOrString as int or string. */
function value(field: protobuf.Field, v: unknown): unknown {
  const rt = field.resolvedType;
  if (!(rt instanceof protobuf.Type)) return scalar(field, v);
  const m = v as Record<string, unknown>;
  if (rt.name === 'Time') {
    const seconds = toNumber(m.seconds ?? 0);
    return seconds === 0 && !m.nanos ? null : new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  if (rt.name === 'Quantity') return String(m.string ?? '');
  if (rt.name === 'IntOrString') return toNumber(m.type ?? 0) === 1 ? String(m.strVal ?? '') : Number(m.intVal ?? 0);
  return toJson(rt, v as protobuf.Message);
}

function toJson(type: protobuf.Type, msg: protobuf.Message): Json {
  const out: Json = {};
  const m = msg as unknown as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    if (field.name === 'status' && field.type === 'bytes') continue;
    if (!Object.prototype.hasOwnProperty.call(m, field.name)) continue;
    const v = m[field.name];
    if (field.map) {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length) out[field.name] = Object.fromEntries(entries.map(([k, x]) => [k, value(field, x)]));
    } else if (field.repeated) {
      if ((v as unknown[]).length) out[field.name] = (v as unknown[]).map((x) => value(field, x));
    } else if (field.resolvedType instanceof protobuf.Type) {
      out[field.name] = value(field, v);
    } else if (!isZero(v) || POINTERS.has(`${type.name}.${field.name}`)) {
      out[field.name] = scalar(field, v);
    }
  }
  return out;
}
