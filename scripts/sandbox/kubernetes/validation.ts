// Validation as kube-apiserver does it beyond the schema's required fields and enums: object names
// (DNS-1123 subdomain / label, DNS-1035 for Services), labels, required lists (a pod without
// containers), ranges (replicas, ports), resource quantities, selector/template label match,
// immutable fields on update, and CustomResourceDefinitions' structural schemas (type checks,
// enums, bounds, required, pruning of unknown fields).
//
// The texts are Kubernetes' own: k8s.io/apimachinery/pkg/util/validation (the DNS and label
// messages), k8s.io/apimachinery/pkg/util/validation/field (`Invalid value: ...`, `Required value`,
// `field is immutable`), pkg/apis/core/validation, pkg/apis/apps/validation, pkg/apis/batch/validation
// and k8s.io/apiextensions-apiserver's schema validation (`... in body must be of type integer`).
// Values appear as Go's %#v prints them (map[string]string{"app":"web"}), as the real errors show.
import { parseQuantity } from './quantity.js';
import { meta, type Json } from './store.js';
import type { ResourceType } from './resources.js';

export interface Cause {
  field: string;
  reason: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueNotSupported' | 'FieldValueDuplicate';
  message: string;
}

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

// ---- Go value printing (%#v / %q) -----------------------------------------------------------------

export function goValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'null';
  return JSON.stringify(v);
}

function goStringMap(m: unknown): string {
  if (!isObj(m)) return 'map[string]string(nil)';
  return `map[string]string{${Object.keys(m).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(String(m[k]))}`).join(', ')}}`;
}

function goLabelSelector(sel: unknown): string {
  const s = isObj(sel) ? sel : {};
  const exprs = Array.isArray(s.matchExpressions) && s.matchExpressions.length
    ? `[]v1.LabelSelectorRequirement{${(s.matchExpressions as Json[]).map((e) => `v1.LabelSelectorRequirement{Key:${JSON.stringify(String(e.key ?? ''))}, Operator:${JSON.stringify(String(e.operator ?? ''))}, Values:${Array.isArray(e.values) ? `[]string{${(e.values as unknown[]).map((x) => JSON.stringify(String(x))).join(', ')}}` : '[]string(nil)'}}`).join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return `v1.LabelSelector{MatchLabels:${goStringMap(s.matchLabels)}, MatchExpressions:${exprs}}`;
}

const invalid = (field: string, value: string, detail: string): Cause => ({ field, reason: 'FieldValueInvalid', message: `Invalid value: ${value}: ${detail}` });
const required = (field: string, detail = ''): Cause => ({ field, reason: 'FieldValueRequired', message: detail ? `Required value: ${detail}` : 'Required value' });
const forbidden = (field: string, detail: string): Cause => ({ field, reason: 'FieldValueForbidden', message: `Forbidden: ${detail}` });

// ---- names and labels (k8s.io/apimachinery/pkg/util/validation) -----------------------------------

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (!examples.length) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const LABEL_VALUE = '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?';
const QUALIFIED_NAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';

export function dns1123Subdomain(v: string): string[] {
  const out: string[] = [];
  if (v.length > 253) out.push('must be no more than 253 characters');
  if (!new RegExp(`^${DNS1123_SUBDOMAIN}$`).test(v)) out.push(regexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", DNS1123_SUBDOMAIN, 'example.com'));
  return out;
}

export function dns1123Label(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push('must be no more than 63 characters');
  if (!new RegExp(`^${DNS1123_LABEL}$`).test(v)) out.push(regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", DNS1123_LABEL, 'my-name', '123-abc'));
  return out;
}

export function dns1035Label(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push('must be no more than 63 characters');
  if (!new RegExp(`^${DNS1035_LABEL}$`).test(v)) out.push(regexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", DNS1035_LABEL, 'my-name', 'abc-123'));
  return out;
}

function qualifiedName(v: string): string[] {
  const parts = v.split('/');
  let name = v;
  const out: string[] = [];
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    name = parts[1] as string;
    if (!prefix) out.push('prefix part must be non-empty');
    else for (const m of dns1123Subdomain(prefix)) out.push(`prefix part ${m}`);
  } else if (parts.length > 2) {
    return [regexError("a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", QUALIFIED_NAME, 'MyName', 'my.name', '123-abc') + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  }
  if (!name) out.push('name part must be non-empty');
  else if (name.length > 63) out.push('name part must be no more than 63 characters');
  if (name && !new RegExp(`^${QUALIFIED_NAME}$`).test(name)) out.push(regexError("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", QUALIFIED_NAME, 'MyName', 'my.name', '123-abc'));
  return out;
}

function labelValue(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push('must be no more than 63 characters');
  if (!new RegExp(`^${LABEL_VALUE}$`).test(v)) out.push(regexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", LABEL_VALUE, 'MyValue', 'my_value', '12345'));
  return out;
}

function validateLabels(labels: unknown, field: string): Cause[] {
  if (!isObj(labels)) return [];
  const out: Cause[] = [];
  for (const [k, v] of Object.entries(labels)) {
    for (const m of qualifiedName(k)) out.push(invalid(field, JSON.stringify(k), m));
    for (const m of labelValue(String(v))) out.push(invalid(field, JSON.stringify(String(v)), m));
  }
  return out;
}

function validateName(t: ResourceType, name: string): Cause[] {
  if (t.group === 'rbac.authorization.k8s.io') {
    if (name === '.' || name === '..') return [invalid('metadata.name', JSON.stringify(name), `may not be '${name}'`)];
    const bad = ['/', '%'].find((c) => name.includes(c));
    return bad ? [invalid('metadata.name', JSON.stringify(name), `may not contain '${bad}'`)] : [];
  }
  const check = t.kind === 'Namespace' ? dns1123Label : t.kind === 'Service' ? dns1035Label : dns1123Subdomain;
  return check(name).map((m) => invalid('metadata.name', JSON.stringify(name), m));
}

// ---- pod templates ------------------------------------------------------------------------------

function validateResources(r: unknown, field: string): Cause[] {
  if (!isObj(r)) return [];
  const out: Cause[] = [];
  const requests = isObj(r.requests) ? r.requests : {};
  const limits = isObj(r.limits) ? r.limits : {};
  for (const [kind, map] of [['requests', requests], ['limits', limits]] as const) {
    for (const [k, v] of Object.entries(map)) {
      if (parseQuantity(v) < 0) out.push(invalid(`${field}.${kind}[${k}]`, JSON.stringify(String(v)), 'must be greater than or equal to 0'));
    }
  }
  for (const [k, v] of Object.entries(requests)) {
    const lim = limits[k];
    if (lim !== undefined && parseQuantity(v) > parseQuantity(lim)) out.push(invalid(`${field}.requests`, JSON.stringify(String(v)), `must be less than or equal to ${k} limit of ${String(lim)}`));
  }
  return out;
}

function validatePorts(ports: unknown, field: string): Cause[] {
  const out: Cause[] = [];
  if (!Array.isArray(ports)) return out;
  ports.forEach((p: unknown, i) => {
    if (!isObj(p)) return;
    const cp = p.containerPort;
    if (typeof cp === 'number' && (cp < 1 || cp > 65535)) out.push(invalid(`${field}[${i}].containerPort`, String(cp), 'must be between 1 and 65535, inclusive'));
    const hp = p.hostPort;
    if (typeof hp === 'number' && hp !== 0 && (hp < 1 || hp > 65535)) out.push(invalid(`${field}[${i}].hostPort`, String(hp), 'must be between 1 and 65535, inclusive'));
  });
  return out;
}

function validatePodSpec(spec: unknown, field: string): Cause[] {
  if (!isObj(spec)) return [required(field)];
  const out: Cause[] = [];
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) out.push(required(`${field}.containers`));
  for (const [list, key] of [[containers, 'containers'], [spec.initContainers, 'initContainers']] as const) {
    if (!Array.isArray(list)) continue;
    const names = new Set<string>();
    list.forEach((c: unknown, i) => {
      if (!isObj(c)) return;
      const p = `${field}.${key}[${i}]`;
      const name = typeof c.name === 'string' ? c.name : '';
      if (!name) out.push(required(`${p}.name`));
      else {
        for (const m of dns1123Label(name)) out.push(invalid(`${p}.name`, JSON.stringify(name), m));
        if (names.has(name)) out.push({ field: `${p}.name`, reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(name)}` });
        names.add(name);
      }
      if (!c.image) out.push(required(`${p}.image`));
      out.push(...validatePorts(c.ports, `${p}.ports`), ...validateResources(c.resources, `${p}.resources`));
    });
  }
  const rp = spec.restartPolicy;
  return out.concat(rp !== undefined && !['Always', 'OnFailure', 'Never'].includes(String(rp)) ? [{ field: `${field}.restartPolicy`, reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(rp)}: supported values: "Always", "OnFailure", "Never"` }] : []);
}

/** Does a LabelSelector select these labels (matchLabels and matchExpressions)? */
export function selectorMatches(sel: unknown, labels: Record<string, string>): boolean {
  if (!isObj(sel)) return false;
  for (const [k, v] of Object.entries(isObj(sel.matchLabels) ? sel.matchLabels : {})) if (labels[k] !== String(v)) return false;
  for (const e of (Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []) as Json[]) {
    const key = String(e.key);
    const vals = ((e.values as unknown[] | undefined) ?? []).map(String);
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    if (e.operator === 'In' && !(has && vals.includes(labels[key] as string))) return false;
    if (e.operator === 'NotIn' && has && vals.includes(labels[key] as string)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

const emptySelector = (sel: unknown): boolean => !isObj(sel) || (!Object.keys(isObj(sel.matchLabels) ? sel.matchLabels : {}).length && !((sel.matchExpressions as unknown[] | undefined) ?? []).length);

function nonNegative(spec: Json, key: string, field: string): Cause[] {
  const v = spec[key];
  return typeof v === 'number' && v < 0 ? [invalid(`${field}.${key}`, String(v), 'must be greater than or equal to 0')] : [];
}

function validateWorkload(t: ResourceType, obj: Json): Cause[] {
  const spec = isObj(obj.spec) ? obj.spec : {};
  const out: Cause[] = [];
  const tpl = isObj(spec.template) ? spec.template : undefined;
  const tplLabels = (isObj(tpl?.metadata) ? ((tpl.metadata as Json).labels as Record<string, string> | undefined) : undefined) ?? {};
  out.push(...nonNegative(spec, 'replicas', 'spec'), ...nonNegative(spec, 'minReadySeconds', 'spec'), ...nonNegative(spec, 'revisionHistoryLimit', 'spec'));
  if (t.kind === 'Job') out.push(...nonNegative(spec, 'parallelism', 'spec'), ...nonNegative(spec, 'completions', 'spec'), ...nonNegative(spec, 'backoffLimit', 'spec'));
  if (t.kind !== 'Job' && spec.selector !== undefined && emptySelector(spec.selector))
    out.push(invalid('spec.selector', goLabelSelector(spec.selector), `empty selector is invalid for ${t.kind === 'Deployment' ? 'deployment' : t.kind.toLowerCase()}`));
  if (tpl) {
    out.push(...validateLabels(isObj(tpl.metadata) ? (tpl.metadata as Json).labels : undefined, 'spec.template.metadata.labels'));
    if (spec.selector !== undefined && !emptySelector(spec.selector) && !selectorMatches(spec.selector, tplLabels))
      out.push(invalid('spec.template.metadata.labels', goStringMap(tplLabels), '`selector` does not match template `labels`'));
    out.push(...validatePodSpec(tpl.spec, 'spec.template.spec'));
    const rp = isObj(tpl.spec) ? (tpl.spec as Json).restartPolicy : undefined;
    if (t.kind === 'Job' && rp === 'Always') out.push({ field: 'spec.template.spec.restartPolicy', reason: 'FieldValueNotSupported', message: 'Unsupported value: "Always": supported values: "OnFailure", "Never"' });
    else if (t.kind !== 'Job' && rp !== undefined && rp !== 'Always') out.push({ field: 'spec.template.spec.restartPolicy', reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(rp)}: supported values: "Always"` });
  } else if (t.kind !== 'Job' || obj.spec !== undefined) out.push(required('spec.template'));
  return out;
}

function validateService(obj: Json): Cause[] {
  const spec = isObj(obj.spec) ? obj.spec : {};
  const out: Cause[] = [];
  const ports = (spec.ports as unknown[] | undefined) ?? [];
  if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && ports.length === 0) out.push(required('spec.ports'));
  ports.forEach((p: unknown, i) => {
    if (!isObj(p)) return;
    if (typeof p.port !== 'number' || p.port < 1 || p.port > 65535) out.push(invalid(`spec.ports[${i}].port`, goValue(p.port ?? 0), 'must be between 1 and 65535, inclusive'));
    if (typeof p.targetPort === 'number' && (p.targetPort < 1 || p.targetPort > 65535)) out.push(invalid(`spec.ports[${i}].targetPort`, String(p.targetPort), 'must be between 1 and 65535, inclusive'));
    if (typeof p.nodePort === 'number' && p.nodePort !== 0 && (p.nodePort < 1 || p.nodePort > 65535)) out.push(invalid(`spec.ports[${i}].nodePort`, String(p.nodePort), 'must be between 1 and 65535, inclusive'));
    if (ports.length > 1 && !p.name) out.push(required(`spec.ports[${i}].name`));
  });
  return out;
}

/** Create-time (and update-time) validation of a built-in object. */
export function validateObject(t: ResourceType, obj: Json): Cause[] {
  const m = meta(obj);
  const out: Cause[] = [];
  if (typeof m.name === 'string' && m.name) out.push(...validateName(t, m.name));
  out.push(...validateLabels(m.labels, 'metadata.labels'));
  if (t.crd) return out;
  switch (t.kind) {
    case 'Pod':
      out.push(...validatePodSpec(obj.spec, 'spec'));
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'Job':
      out.push(...validateWorkload(t, obj));
      break;
    case 'Service':
      out.push(...validateService(obj));
      break;
    case 'CustomResourceDefinition':
      out.push(...validateCrd(obj));
      break;
  }
  return out;
}

// ---- immutable fields (ValidateXUpdate) ---------------------------------------------------------

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * ValidatePodUpdate (pkg/apis/core/validation/validation.go): a pod's spec may change only in the
 * fields below; everything else is compared after "munging" those into the old values. The
 * sentence is the API server's (as of Kubernetes 1.31+; the real one is followed by a cmp.Diff of
 * the two PodSpecs, which the sandbox leaves out).
 */
export const POD_UPDATABLE_FIELDS =
  'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** JSON with keys in order and undefined members dropped: equality that ignores a patch's key order. */
const canonical = (v: unknown): string => JSON.stringify(sortedKeys(v));
function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (!isObj(v)) return v;
  return Object.fromEntries(Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => [k, sortedKeys(v[k])]));
}

function validatePodUpdate(ns: Json, os: Json): Cause[] {
  const out: Cause[] = [];
  const munged: Json = structuredClone(ns);
  // spec.containers[*].image, spec.initContainers[*].image (same containers, same order).
  for (const key of ['containers', 'initContainers']) {
    const nc = Array.isArray(munged[key]) ? (munged[key] as Json[]) : [];
    const oc = Array.isArray(os[key]) ? (os[key] as Json[]) : [];
    if (nc.length === oc.length) nc.forEach((c, i) => (isObj(c) && isObj(oc[i]) ? (c.image = oc[i].image) : undefined));
  }
  // spec.activeDeadlineSeconds: set from nil, or lowered; never raised or removed.
  const na = ns.activeDeadlineSeconds;
  const oa = os.activeDeadlineSeconds;
  if (typeof na === 'number') {
    if (na < 0 || na > 2147483647) out.push(invalid('spec.activeDeadlineSeconds', String(na), 'must be between 0 and 2147483647, inclusive'));
    else if (typeof oa === 'number' && oa < na) out.push(invalid('spec.activeDeadlineSeconds', String(na), 'must be less than or equal to previous value'));
  } else if (typeof oa === 'number') out.push(invalid('spec.activeDeadlineSeconds', 'null', 'must not update from a positive integer to nil value'));
  if (oa !== undefined || na !== undefined) munged.activeDeadlineSeconds = oa;
  if (oa === undefined) delete munged.activeDeadlineSeconds;
  // spec.tolerations: additions only; an existing one may change only its tolerationSeconds (ValidateTolerationsUpdate).
  const nt = Array.isArray(ns.tolerations) ? (ns.tolerations as Json[]) : [];
  const ot = Array.isArray(os.tolerations) ? (os.tolerations as Json[]) : [];
  const key = (x: Json): string => canonical({ ...x, tolerationSeconds: undefined });
  if (ot.every((o) => nt.some((n) => key(n) === key(o)))) {
    if (os.tolerations === undefined) delete munged.tolerations;
    else munged.tolerations = os.tolerations;
  } else out.push(forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
  // spec.terminationGracePeriodSeconds: to 1 when it was negative.
  if (typeof os.terminationGracePeriodSeconds === 'number' && os.terminationGracePeriodSeconds < 0 && ns.terminationGracePeriodSeconds === 1) munged.terminationGracePeriodSeconds = os.terminationGracePeriodSeconds;
  // spec.schedulingGates: may only be removed.
  const ng = Array.isArray(ns.schedulingGates) ? (ns.schedulingGates as Json[]) : [];
  const og = Array.isArray(os.schedulingGates) ? (os.schedulingGates as Json[]) : [];
  if (ng.every((g) => og.some((o) => canonical(o) === canonical(g)))) {
    if (os.schedulingGates === undefined) delete munged.schedulingGates;
    else munged.schedulingGates = os.schedulingGates;
  }
  // spec.nodeName is set once, by the scheduler's binding.
  if (!os.nodeName && ns.nodeName) munged.nodeName = os.nodeName;
  if (munged.nodeName === undefined) delete munged.nodeName;
  if (!out.length && canonical(munged) !== canonical(os)) out.push(forbidden('spec', POD_UPDATABLE_FIELDS));
  return out;
}

export function validateUpdate(t: ResourceType, next: Json, old: Json): Cause[] {
  const ns = isObj(next.spec) ? next.spec : {};
  const os = isObj(old.spec) ? old.spec : {};
  const out: Cause[] = [];
  switch (t.kind) {
    case 'Pod':
      if (t.group === '') out.push(...validatePodUpdate(ns, os));
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'DaemonSet':
    case 'Job':
      if (!same(ns.selector, os.selector)) out.push(invalid('spec.selector', goLabelSelector(ns.selector), 'field is immutable'));
      if (t.kind === 'Job' && !same(ns.template, os.template)) out.push(invalid('spec.template', 'core.PodTemplateSpec{...}', 'field is immutable'));
      if (t.kind === 'Job' && !same(ns.completions, os.completions) && ns.completionMode !== 'Indexed') out.push(invalid('spec.completions', goValue(ns.completions), 'field is immutable'));
      break;
    case 'StatefulSet': {
      const strip = (s: Json): Json => ({ ...s, replicas: undefined, ordinals: undefined, template: undefined, updateStrategy: undefined, persistentVolumeClaimRetentionPolicy: undefined, minReadySeconds: undefined });
      if (!same(strip(ns), strip(os))) out.push(forbidden('spec', "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
      break;
    }
    case 'Service':
      if (os.clusterIP && os.clusterIP !== 'None' && ns.clusterIP !== os.clusterIP) out.push(invalid('spec.clusterIPs[0]', `[]string{${JSON.stringify(String(ns.clusterIP ?? ''))}}`, 'may not change once set'));
      break;
    case 'ConfigMap':
    case 'Secret':
      if (old.immutable === true) {
        if (!same(next.data, old.data)) out.push(forbidden('data', 'field is immutable when `immutable` is set'));
        if (t.kind === 'ConfigMap' && !same(next.binaryData, old.binaryData)) out.push(forbidden('binaryData', 'field is immutable when `immutable` is set'));
        if (next.immutable !== true) out.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
      }
      break;
    case 'PersistentVolumeClaim': {
      const strip = (s: Json): Json => ({ ...s, resources: undefined, volumeAttributesClassName: undefined });
      if (!same(strip(ns), strip(os))) out.push(forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
      break;
    }
  }
  return out;
}

// ---- CustomResourceDefinitions: structural schemas and custom resources ---------------------------

/** A structural schema: every specified field has a type, unless int-or-string or preserve-unknown-fields. */
function structuralProblems(s: unknown, path: string, out: Cause[]): void {
  if (!isObj(s)) return;
  const free = s['x-kubernetes-preserve-unknown-fields'] === true || s['x-kubernetes-int-or-string'] === true;
  if (!s.type && !free) out.push(required(`${path}.type`, 'must not be empty for specified object fields'));
  if (isObj(s.properties)) for (const [k, v] of Object.entries(s.properties)) structuralProblems(v, `${path}.properties[${k}]`, out);
  if (isObj(s.items)) structuralProblems(s.items, `${path}.items`, out);
  if (isObj(s.additionalProperties)) structuralProblems(s.additionalProperties, `${path}.additionalProperties`, out);
  if (s.type === 'array' && !isObj(s.items)) out.push(required(`${path}.items`, 'must be specified'));
}

function validateCrd(crd: Json): Cause[] {
  const out: Cause[] = [];
  const spec = isObj(crd.spec) ? crd.spec : {};
  const names = isObj(spec.names) ? spec.names : {};
  const name = String(meta(crd).name ?? '');
  if (spec.group && names.plural && name !== `${String(names.plural)}.${String(spec.group)}`)
    out.push(invalid('metadata.name', JSON.stringify(name), `must be spec.names.plural+"."+spec.group`));
  const versions = (spec.versions as Json[] | undefined) ?? [];
  if (!versions.length) out.push(required('spec.versions', 'must have exactly one version marked as storage version'));
  else if (versions.filter((v) => v.storage === true).length !== 1) out.push(invalid('spec.versions', goValue(versions.map((v) => v.name)), 'must have exactly one version marked as storage version'));
  versions.forEach((v, i) => {
    const schema = isObj(v.schema) ? v.schema.openAPIV3Schema : undefined;
    const p = `spec.versions[${i}].schema.openAPIV3Schema`;
    if (!isObj(schema)) return void out.push(required(p, 'schemas are required'));
    structuralProblems(schema, p, out);
    if (schema.type !== 'object' && schema['x-kubernetes-preserve-unknown-fields'] !== true) out.push(invalid(`${p}.type`, goValue(schema.type ?? ''), 'must be object at the root'));
  });
  return out;
}

const jsonType = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v);

/** A custom resource against its version's openAPIV3Schema: the apiextensions-apiserver's messages. */
export function validateCustom(schema: Json | undefined, obj: Json): Cause[] {
  const out: Cause[] = [];
  if (!schema) return out;
  const walk = (s: Json, v: unknown, path: string): void => {
    if (v === undefined) return;
    if (s['x-kubernetes-int-or-string'] === true) {
      if (typeof v !== 'string' && !Number.isInteger(v)) out.push(invalid(path, JSON.stringify(jsonType(v)), `${path} in body must be of type integer,string: ${JSON.stringify(jsonType(v))}`));
      return;
    }
    const type = s.type as string | undefined;
    const got = jsonType(v);
    if (v === null && s.nullable === true) return;
    if (type && !(got === type || (type === 'number' && got === 'integer'))) {
      out.push(invalid(path, JSON.stringify(got), `${path} in body must be of type ${type}: ${JSON.stringify(got)}`));
      return;
    }
    if (Array.isArray(s.enum) && !s.enum.some((e) => same(e, v))) out.push({ field: path, reason: 'FieldValueNotSupported', message: `Unsupported value: ${goValue(v)}: supported values: ${s.enum.map((e) => goValue(e)).join(', ')}` });
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && (v < s.minimum || (s.exclusiveMinimum === true && v === s.minimum))) out.push(invalid(path, String(v), `${path} in body should be greater than ${s.exclusiveMinimum === true ? '' : 'or equal to '}${s.minimum}`));
      if (typeof s.maximum === 'number' && (v > s.maximum || (s.exclusiveMaximum === true && v === s.maximum))) out.push(invalid(path, String(v), `${path} in body should be less than ${s.exclusiveMaximum === true ? '' : 'or equal to '}${s.maximum}`));
    }
    if (typeof v === 'string') {
      if (typeof s.maxLength === 'number' && v.length > s.maxLength) out.push({ field: path, reason: 'FieldValueInvalid', message: `Too long: may not be more than ${s.maxLength} bytes` });
      if (typeof s.minLength === 'number' && v.length < s.minLength) out.push(invalid(path, JSON.stringify(v), `${path} in body should be at least ${s.minLength} chars long`));
      if (typeof s.pattern === 'string' && !new RegExp(s.pattern).test(v)) out.push(invalid(path, JSON.stringify(v), `${path} in body should match '${s.pattern}'`));
    }
    if (isObj(v)) {
      for (const r of (s.required as string[] | undefined) ?? []) if (v[r] === undefined) out.push(required(path ? `${path}.${r}` : r));
      const props = isObj(s.properties) ? s.properties : {};
      for (const [k, x] of Object.entries(v)) {
        if (!path && ['apiVersion', 'kind', 'metadata'].includes(k)) continue;
        const child = isObj(props[k]) ? (props[k] as Json) : isObj(s.additionalProperties) ? s.additionalProperties : undefined;
        if (child) walk(child, x, path ? `${path}.${k}` : k);
      }
    }
    if (Array.isArray(v) && isObj(s.items)) v.forEach((x, i) => walk(s.items as Json, x, `${path}[${i}]`));
  };
  walk(schema, obj, '');
  return out;
}

/** Fields a custom resource's schema does not declare (pruned, or refused under fieldValidation=Strict). */
export function customUnknownFields(schema: Json | undefined, obj: Json): string[] {
  const out: string[] = [];
  if (!schema) return out;
  const walk = (s: Json, v: unknown, path: string): void => {
    if (s['x-kubernetes-preserve-unknown-fields'] === true && !isObj(s.properties)) return;
    if (isObj(v)) {
      const props = isObj(s.properties) ? s.properties : undefined;
      for (const [k, x] of Object.entries(v)) {
        if (!path && ['apiVersion', 'kind', 'metadata'].includes(k)) continue;
        const p = path ? `${path}.${k}` : k;
        const child = props && isObj(props[k]) ? (props[k] as Json) : isObj(s.additionalProperties) ? s.additionalProperties : undefined;
        if (child) walk(child, x, p);
        else if (s.additionalProperties !== true && s['x-kubernetes-preserve-unknown-fields'] !== true) out.push(p);
      }
    } else if (Array.isArray(v) && isObj(s.items)) v.forEach((x, i) => walk(s.items as Json, x, `${path}[${i}]`));
  };
  walk(schema, obj, '');
  return out;
}

/** Remove the fields at these paths (as customUnknownFields / unknownFields name them). */
export function pruneFields(obj: Json, paths: string[]): void {
  for (const p of paths) {
    const segs = p.match(/[^.[\]]+|\[\d+\]/g) ?? [];
    let cur: unknown = obj;
    for (let i = 0; i < segs.length - 1; i++) {
      const s = segs[i] as string;
      cur = /^\[\d+\]$/.test(s) ? (cur as unknown[])[Number(s.slice(1, -1))] : (cur as Json | undefined)?.[s];
      if (cur === undefined || cur === null) break;
    }
    const last = segs[segs.length - 1];
    if (isObj(cur) && last && !/^\[\d+\]$/.test(last)) delete cur[last];
  }
}
