// Server-side printing: the meta.k8s.io Table kubectl asks for (`Accept: application/json;as=Table`),
// with the columns kube-apiserver's printers declare (pkg/printers/internalversion/printers.go;
// priority 1 columns are the ones `-o wide` adds), CustomResourceDefinitions' additionalPrinterColumns,
// and `includeObject` (None, Metadata — the default — or Object, which `--sort-by` needs).
// Ages read as k8s.io/apimachinery/pkg/util/duration.HumanDuration writes them.
import type { ResourceType } from './resources.js';
import { meta, type Json } from './store.js';

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

const age = (ts: unknown): string => (ts ? humanDuration(Date.now() - Date.parse(String(ts))) : '<unknown>');

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}
const col = (name: string, type = 'string', priority = 0, format = ''): Column => ({ name, type, format, description: name, priority });
const nameCol = (): Column => ({ ...col('Name', 'string', 0, 'name'), description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names' });

const st = (o: Json): Json => (isObj(o.status) ? o.status : {});
const sp = (o: Json): Json => (isObj(o.spec) ? o.spec : {});
const none = (s: string): string => s || '<none>';

function selectorString(sel: unknown): string {
  if (!isObj(sel)) return '<none>';
  const parts = Object.entries(isObj(sel.matchLabels) ? sel.matchLabels : {}).map(([k, v]) => `${k}=${String(v)}`);
  for (const e of (sel.matchExpressions as Json[] | undefined) ?? []) {
    const vals = ((e.values as string[] | undefined) ?? []).join(',');
    parts.push(e.operator === 'Exists' ? String(e.key) : e.operator === 'DoesNotExist' ? `!${String(e.key)}` : `${String(e.key)} ${String(e.operator).toLowerCase()} (${vals})`);
  }
  return parts.join(',') || '<none>';
}

function templateContainers(o: Json): [string, string] {
  const cs = ((((sp(o).template ?? {}) as Json).spec ?? {}) as Json).containers as Json[] | undefined ?? [];
  return [cs.map((c) => String(c.name)).join(','), cs.map((c) => String(c.image)).join(',')];
}

function podStatus(o: Json): string {
  const cs = (st(o).containerStatuses as Json[] | undefined) ?? [];
  const waiting = cs.map((c) => ((c.state as Json | undefined)?.waiting as Json | undefined)?.reason).find(Boolean);
  const term = cs.map((c) => ((c.state as Json | undefined)?.terminated as Json | undefined)?.reason).find(Boolean);
  if (meta(o).deletionTimestamp) return 'Terminating';
  return String(waiting ?? (st(o).phase === 'Succeeded' || st(o).phase === 'Failed' ? term : undefined) ?? st(o).reason ?? st(o).phase ?? 'Pending');
}

/** A small JSONPath as CRD printer columns use it: `.a.b`, `.a[0].b`, `.a[?(@.type=="Ready")].status`. */
export function jsonPathValue(obj: unknown, path: string): unknown {
  const tokens = path.replace(/^\{|\}$/g, '').replace(/^\$/, '').match(/\.[^.[\]]+|\[\?\(@\.[^)]*\)\]|\[\d+\]|\[\*\]/g) ?? [];
  let cur: unknown[] = [obj];
  for (const t of tokens) {
    const next: unknown[] = [];
    for (const c of cur) {
      if (t.startsWith('.')) {
        if (isObj(c) && c[t.slice(1)] !== undefined) next.push(c[t.slice(1)]);
      } else if (t === '[*]') {
        if (Array.isArray(c)) next.push(...(c as unknown[]));
      } else if (/^\[\d+\]$/.test(t)) {
        if (Array.isArray(c) && c[Number(t.slice(1, -1))] !== undefined) next.push(c[Number(t.slice(1, -1))]);
      } else {
        const m = /^\[\?\(@\.([^=!<>]+)\s*(==|!=)\s*["']?([^"']*)["']?\)\]$/.exec(t);
        if (m && Array.isArray(c)) for (const x of c as unknown[]) if (isObj(x) && (String(x[m[1] as string]) === m[3]) === (m[2] === '==')) next.push(x);
      }
    }
    cur = next;
  }
  return cur.length === 0 ? undefined : cur.length === 1 ? cur[0] : cur;
}

function printerColumns(t: ResourceType): { columns: Column[]; cells: (o: Json) => unknown[] } {
  const pcs = t.crd?.printerColumns ?? [];
  if (!pcs.length) return { columns: [nameCol(), col('Age', 'date')], cells: (o) => [meta(o).name, age(meta(o).creationTimestamp)] };
  const columns = [nameCol(), ...pcs.map((c) => ({ ...col(String(c.name), String(c.type ?? 'string'), Number(c.priority ?? 0), String(c.format ?? '')), description: String(c.description ?? c.name) }))];
  return {
    columns,
    cells: (o) => [meta(o).name, ...pcs.map((c) => {
      const v = jsonPathValue(o, String(c.jsonPath));
      if (v === undefined || v === null) return null;
      if (c.type === 'date') return age(v);
      if (c.type === 'integer' || c.type === 'number' || c.type === 'boolean') return v;
      return typeof v === 'string' ? v : JSON.stringify(v);
    })],
  };
}

function kindColumns(t: ResourceType): { columns: Column[]; cells: (o: Json) => unknown[] } {
  const ageOf = (o: Json): string => age(meta(o).creationTimestamp);
  switch (t.kind) {
    case 'Node':
      return {
        columns: [nameCol(), col('Status'), col('Roles'), col('Age'), col('Version'), col('Internal-IP', 'string', 1), col('External-IP', 'string', 1), col('OS-Image', 'string', 1), col('Kernel-Version', 'string', 1), col('Container-Runtime', 'string', 1)],
        cells: (o) => {
          const conds = (st(o).conditions as Json[] | undefined) ?? [];
          const ready = conds.find((c) => c.type === 'Ready')?.status;
          const roles = Object.keys((meta(o).labels ?? {}) as Json).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice(24));
          const addr = (type: string): string => String(((st(o).addresses as Json[] | undefined) ?? []).find((a) => a.type === type)?.address ?? '<none>');
          const info = (st(o).nodeInfo ?? {}) as Json;
          return [meta(o).name, `${ready === 'True' ? 'Ready' : ready === undefined ? 'Unknown' : 'NotReady'}${sp(o).unschedulable ? ',SchedulingDisabled' : ''}`, roles.join(',') || '<none>', ageOf(o), info.kubeletVersion ?? '', addr('InternalIP'), addr('ExternalIP'), info.osImage ?? '<unknown>', info.kernelVersion ?? '<unknown>', info.containerRuntimeVersion ?? '<unknown>'];
        },
      };
    case 'Pod':
      return {
        columns: [nameCol(), col('Ready'), col('Status'), col('Restarts'), col('Age'), col('IP', 'string', 1), col('Node', 'string', 1), col('Nominated Node', 'string', 1), col('Readiness Gates', 'string', 1)],
        cells: (o) => {
          const cs = (st(o).containerStatuses as Json[] | undefined) ?? [];
          const total = ((sp(o).containers as Json[] | undefined) ?? []).length;
          const gates = (sp(o).readinessGates as Json[] | undefined) ?? [];
          return [meta(o).name, `${cs.filter((c) => c.ready).length}/${total}`, podStatus(o), String(cs.reduce((a, c) => a + Number(c.restartCount ?? 0), 0)), ageOf(o), String(st(o).podIP ?? '<none>'), String(sp(o).nodeName ?? '<none>'), String(st(o).nominatedNodeName ?? '<none>'), gates.length ? `0/${gates.length}` : '<none>'];
        },
      };
    case 'Deployment':
      return {
        columns: [nameCol(), col('Ready'), col('Up-to-date', 'integer'), col('Available', 'integer'), col('Age'), col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
        cells: (o) => [meta(o).name, `${Number(st(o).readyReplicas ?? 0)}/${Number(sp(o).replicas ?? 0)}`, Number(st(o).updatedReplicas ?? 0), Number(st(o).availableReplicas ?? 0), ageOf(o), ...templateContainers(o), selectorString(sp(o).selector)],
      };
    case 'ReplicaSet':
    case 'StatefulSet':
      if (t.kind === 'StatefulSet') {
        return {
          columns: [nameCol(), col('Ready'), col('Age'), col('Containers', 'string', 1), col('Images', 'string', 1)],
          cells: (o) => [meta(o).name, `${Number(st(o).readyReplicas ?? 0)}/${Number(sp(o).replicas ?? 0)}`, ageOf(o), ...templateContainers(o)],
        };
      }
      return {
        columns: [nameCol(), col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), col('Age'), col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
        cells: (o) => [meta(o).name, Number(sp(o).replicas ?? 0), Number(st(o).replicas ?? 0), Number(st(o).readyReplicas ?? 0), ageOf(o), ...templateContainers(o), selectorString(sp(o).selector)],
      };
    case 'DaemonSet':
      return {
        columns: [nameCol(), col('Desired', 'integer'), col('Current', 'integer'), col('Ready', 'integer'), col('Up-to-date', 'integer'), col('Available', 'integer'), col('Node Selector'), col('Age'), col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
        cells: (o) => {
          const ns = ((((sp(o).template ?? {}) as Json).spec ?? {}) as Json).nodeSelector as Json | undefined;
          return [meta(o).name, Number(st(o).desiredNumberScheduled ?? 0), Number(st(o).currentNumberScheduled ?? 0), Number(st(o).numberReady ?? 0), Number(st(o).updatedNumberScheduled ?? 0), Number(st(o).numberAvailable ?? 0), ns ? Object.entries(ns).map(([k, v]) => `${k}=${String(v)}`).join(',') : '<none>', ageOf(o), ...templateContainers(o), selectorString(sp(o).selector)];
        },
      };
    case 'Job':
      return {
        columns: [nameCol(), col('Status'), col('Completions'), col('Duration'), col('Age'), col('Containers', 'string', 1), col('Images', 'string', 1), col('Selector', 'string', 1)],
        cells: (o) => {
          const conds = (st(o).conditions as Json[] | undefined) ?? [];
          const has = (type: string): boolean => conds.some((c) => c.type === type && c.status === 'True');
          const status = has('Complete') ? 'Complete' : has('Failed') ? 'Failed' : has('FailureTarget') ? 'FailureTarget' : has('SuccessCriteriaMet') ? 'SuccessCriteriaMet' : has('Suspended') ? 'Suspended' : 'Running';
          const start = st(o).startTime ? Date.parse(String(st(o).startTime)) : undefined;
          const end = st(o).completionTime ? Date.parse(String(st(o).completionTime)) : Date.now();
          return [meta(o).name, status, `${Number(st(o).succeeded ?? 0)}/${Number(sp(o).completions ?? 1)}`, start === undefined ? '' : humanDuration(end - start), ageOf(o), ...templateContainers(o), selectorString(sp(o).selector)];
        },
      };
    case 'Service':
      return {
        columns: [nameCol(), col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), col('Age'), col('Selector', 'string', 1)],
        cells: (o) => {
          const ports = ((sp(o).ports as Json[] | undefined) ?? []).map((p) => `${String(p.port)}${p.nodePort ? `:${String(p.nodePort)}` : ''}/${String(p.protocol ?? 'TCP')}`).join(',');
          const lb = ((((st(o).loadBalancer ?? {}) as Json).ingress as Json[] | undefined) ?? []).map((i) => String(i.ip ?? i.hostname)).join(',');
          const ext = sp(o).type === 'LoadBalancer' ? lb || '<pending>' : sp(o).type === 'ExternalName' ? String(sp(o).externalName ?? '') : '<none>';
          const sel = isObj(sp(o).selector) ? Object.entries(sp(o).selector as Json).map(([k, v]) => `${k}=${String(v)}`).join(',') : '';
          return [meta(o).name, sp(o).type, sp(o).clusterIP ?? '', ext, ports || '<none>', ageOf(o), none(sel)];
        },
      };
    case 'Namespace':
      return { columns: [nameCol(), col('Status'), col('Age')], cells: (o) => [meta(o).name, st(o).phase ?? 'Active', ageOf(o)] };
    case 'ConfigMap':
      return { columns: [nameCol(), col('Data', 'integer'), col('Age')], cells: (o) => [meta(o).name, Object.keys(isObj(o.data) ? o.data : {}).length + Object.keys(isObj(o.binaryData) ? o.binaryData : {}).length, ageOf(o)] };
    case 'Secret':
      return { columns: [nameCol(), col('Type'), col('Data', 'integer'), col('Age')], cells: (o) => [meta(o).name, o.type ?? 'Opaque', Object.keys(isObj(o.data) ? o.data : {}).length, ageOf(o)] };
    case 'ServiceAccount':
      return { columns: [nameCol(), col('Secrets', 'integer'), col('Age')], cells: (o) => [meta(o).name, ((o.secrets as unknown[] | undefined) ?? []).length, ageOf(o)] };
    case 'PersistentVolumeClaim':
      return {
        columns: [nameCol(), col('Status'), col('Volume'), col('Capacity'), col('Access Modes'), col('StorageClass'), col('VolumeAttributesClass'), col('Age'), col('VolumeMode', 'string', 1)],
        cells: (o) => {
          const bound = st(o).phase === 'Bound';
          const modes = ((st(o).accessModes ?? sp(o).accessModes) as string[] | undefined) ?? [];
          const short: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };
          const cap = bound ? String(((st(o).capacity ?? {}) as Json).storage ?? '') : '';
          return [meta(o).name, st(o).phase ?? 'Pending', String(sp(o).volumeName ?? ''), cap, bound ? modes.map((m) => short[m] ?? m).join(',') : '', String(sp(o).storageClassName ?? '<unset>'), String(sp(o).volumeAttributesClassName ?? '<unset>'), ageOf(o), String(sp(o).volumeMode ?? 'Filesystem')];
        },
      };
    case 'StorageClass':
      return {
        columns: [nameCol(), col('Provisioner'), col('ReclaimPolicy'), col('VolumeBindingMode'), col('AllowVolumeExpansion'), col('Age')],
        cells: (o) => {
          const def = ((meta(o).annotations ?? {}) as Json)['storageclass.kubernetes.io/is-default-class'] === 'true';
          return [`${String(meta(o).name)}${def ? ' (default)' : ''}`, o.provisioner, o.reclaimPolicy ?? 'Delete', o.volumeBindingMode ?? 'Immediate', String(o.allowVolumeExpansion === true), ageOf(o)];
        },
      };
    case 'Event':
      return {
        columns: [col('Last Seen'), col('Type'), col('Reason'), col('Object'), col('Subobject', 'string', 1), col('Source', 'string', 1), col('Message'), col('First Seen', 'string', 1), col('Count', 'string', 1), { ...nameCol(), priority: 1 }],
        cells: (o) => {
          const io = (o.involvedObject ?? {}) as Json;
          const src = (o.source ?? {}) as Json;
          const last = o.lastTimestamp ?? o.eventTime ?? meta(o).creationTimestamp;
          const first = o.firstTimestamp ?? o.eventTime ?? meta(o).creationTimestamp;
          const count = Number(o.count ?? 1);
          return [count > 1 ? `${age(last)} (x${count} over ${age(first)})` : age(last), o.type ?? '', o.reason ?? '', `${String(io.kind ?? '').toLowerCase()}/${String(io.name ?? '')}`, String(io.fieldPath ?? ''), [src.component, src.host].filter(Boolean).join(', ') || String(o.reportingComponent ?? ''), o.message ?? '', age(first), String(count), meta(o).name];
        },
      };
    case 'Endpoints':
      return {
        columns: [nameCol(), col('Endpoints'), col('Age')],
        cells: (o) => {
          const list: string[] = [];
          for (const s of (o.subsets as Json[] | undefined) ?? []) for (const a of (s.addresses as Json[] | undefined) ?? []) for (const p of (s.ports as Json[] | undefined) ?? []) list.push(`${String(a.ip)}:${String(p.port)}`);
          return [meta(o).name, list.length > 3 ? `${list.slice(0, 3).join(',')} + ${list.length - 3} more...` : list.join(',') || '<none>', ageOf(o)];
        },
      };
    case 'EndpointSlice':
      return {
        columns: [nameCol(), col('AddressType'), col('Ports'), col('Endpoints'), col('Age')],
        cells: (o) => {
          const ports = ((o.ports as Json[] | undefined) ?? []).map((p) => String(p.port)).join(',');
          const addrs = ((o.endpoints as Json[] | undefined) ?? []).flatMap((e) => (e.addresses as string[] | undefined) ?? []);
          return [meta(o).name, o.addressType, ports || '<unset>', addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',') || '<unset>', ageOf(o)];
        },
      };
    default:
      return printerColumns(t);
  }
}

/** The Table for `kubectl get`: includeObject None, Metadata (the default) or Object. */
export function tableOf(t: ResourceType, items: Json[], listMeta: Json, apiVersion: string, includeObject = 'Metadata'): Json {
  const { columns, cells } = kindColumns(t);
  const object = (o: Json): Json | undefined => {
    if (includeObject === 'None') return undefined;
    if (includeObject === 'Object') return o;
    return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta(o) };
  };
  return {
    kind: 'Table',
    apiVersion,
    metadata: listMeta,
    columnDefinitions: columns,
    rows: items.map((o) => {
      const obj = object(o);
      return { cells: cells(o), ...(obj ? { object: obj } : {}) };
    }),
  };
}
