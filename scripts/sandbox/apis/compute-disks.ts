// Compute Engine compute/v1 persistent disks and snapshots, with their zone and global operations.
// Routes and shapes: google.cloud.compute.v1 Disks, Snapshots, ZoneOperations, GlobalOperations
// from @google-cloud/compute. Seed section `computeDisks`:
//   { disks: [{ name, zone, sizeGb, type?: 'pd-balanced', users?: [instance URL], labels?, ageDays? | creationTimestamp? }],
//     snapshots: [{ name, sourceDisk?, diskSizeGb?, labels?, ageDays? | creationTimestamp? }] }
// Disk deletes and createSnapshot run as zone operations (operationMs), snapshot deletes as global
// operations; an `operationFailure` fault on CreateSnapshot leaves no snapshot and the disk in place.
import { createHash } from 'node:crypto';
import type { ApiModule, SandboxContext } from '../context.js';

type Json = Record<string, unknown>;

export interface SeedDisk {
  name: string;
  zone: string;
  sizeGb: string | number;
  type?: string;
  users?: string[];
  labels?: Record<string, string>;
  creationTimestamp?: string;
  lastDetachTimestamp?: string;
  ageDays?: number;
  status?: string;
}

export interface SeedSnapshot {
  name: string;
  sourceDisk?: string;
  diskSizeGb?: string | number;
  labels?: Record<string, string>;
  creationTimestamp?: string;
  ageDays?: number;
  status?: string;
  storageBytes?: string;
}

export interface ComputeDisksState {
  disks: SeedDisk[];
  snapshots: SeedSnapshot[];
}

const numericId = (s: string): string => BigInt(`0x${createHash('sha256').update(s).digest('hex').slice(0, 15)}`).toString();
const GIB = 1024 ** 3;

const computeDisks: ApiModule = {
  id: 'compute-disks',
  register(ctx: SandboxContext) {
    const { errors } = ctx;
    const st = ctx.state.section<ComputeDisksState>('computeDisks', () => ({ disks: [], snapshots: [] }));
    st.disks ??= [];
    st.snapshots ??= [];
    const now = Date.now();
    for (const d of [...st.disks, ...st.snapshots] as (SeedDisk | SeedSnapshot)[]) {
      if (typeof d.ageDays === 'number') d.creationTimestamp ??= new Date(now - d.ageDays * 86_400_000).toISOString();
      delete d.ageDays;
      d.creationTimestamp ??= new Date(now).toISOString();
    }
    const project = ctx.project.projectId;
    const base = `${ctx.baseUrl}/compute/v1/projects/${project}`;

    const checkProject = (p: unknown): void => {
      if (p !== project && p !== ctx.project.projectNumber) throw errors.notFound(`The resource 'projects/${String(p)}' was not found`);
    };
    const checkZone = (zone: unknown): string => {
      const svc = ctx.services.get('compute') as { zonesOfRegion(r: string): string[]; state: { zones: { name: string }[] } } | undefined;
      const z = String(zone);
      if (svc && !svc.state.zones.some((x) => x.name === z)) throw errors.notFound(`The resource 'projects/${project}/zones/${z}' was not found`);
      return z;
    };

    // ---- operations ---------------------------------------------------------------------------
    const ops = new Map<string, Json>();
    const startOperation = (o: { zone?: string; operationType: string; targetLink: string; rpc: string; path: string; apply: () => void; failed?: () => void }): Json => {
      const id = ctx.operations.newId('operation');
      const scope = o.zone ? `${base}/zones/${o.zone}` : `${base}/global`;
      const op: Json = {
        kind: 'compute#operation',
        id: numericId(id),
        name: id,
        operationType: o.operationType,
        targetLink: o.targetLink,
        targetId: numericId(o.targetLink),
        status: 'RUNNING',
        user: 'cost-cleanup@sandbox',
        progress: 0,
        insertTime: new Date().toISOString(),
        startTime: new Date().toISOString(),
        selfLink: `${scope}/operations/${id}`,
        ...(o.zone ? { zone: `${base}/zones/${o.zone}` } : {}),
      };
      ops.set(`${o.zone ?? 'global'}/${id}`, op);
      ctx.operations.start({
        call: { api: 'compute', method: o.rpc, httpMethod: 'POST', path: o.path },
        complete: () => {
          o.apply();
        },
        failed: () => o.failed?.(),
        done: (error) => {
          op.status = 'DONE';
          op.progress = 100;
          op.endTime = new Date().toISOString();
          if (error) {
            op.error = { errors: [{ code: error.status === 'INTERNAL' ? 'INTERNAL_ERROR' : error.status, message: error.message }] };
            op.httpErrorStatusCode = 500;
            op.httpErrorMessage = 'INTERNAL SERVER ERROR';
          }
        },
      });
      return op;
    };
    const getOp = (scope: string, name: unknown): Json => {
      const op = ops.get(`${scope}/${String(name)}`);
      if (!op) {
        const where = scope === 'global' ? 'global' : `zones/${scope}`;
        throw errors.notFound(`The resource 'projects/${project}/${where}/operations/${String(name)}' was not found`);
      }
      return op;
    };
    const waitOp = async (op: Json): Promise<Json> => {
      const deadline = Date.now() + 120_000;
      while (op.status !== 'DONE' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return op;
    };
    const listOps = (scope: string, self: string): Json => ({
      kind: 'compute#operationList',
      id: `projects/${project}/${scope === 'global' ? 'global' : `zones/${scope}`}/operations`,
      items: [...ops.entries()].filter(([k]) => k.startsWith(`${scope}/`)).map(([, v]) => v),
      selfLink: self,
    });

    // ---- disks -------------------------------------------------------------------------------
    const diskJson = (d: SeedDisk): Json => ({
      kind: 'compute#disk',
      id: numericId(`disk/${d.zone}/${d.name}`),
      creationTimestamp: d.creationTimestamp,
      name: d.name,
      sizeGb: String(d.sizeGb),
      zone: `${base}/zones/${d.zone}`,
      status: d.status ?? 'READY',
      selfLink: `${base}/zones/${d.zone}/disks/${d.name}`,
      type: `${base}/zones/${d.zone}/diskTypes/${d.type ?? 'pd-balanced'}`,
      labels: d.labels ?? {},
      labelFingerprint: createHash('sha1').update(JSON.stringify(d.labels ?? {})).digest('base64').slice(0, 12),
      physicalBlockSizeBytes: '4096',
      ...(d.users?.length ? { users: d.users } : {}),
      ...(d.lastDetachTimestamp ? { lastDetachTimestamp: d.lastDetachTimestamp } : {}),
      architecture: 'X86_64',
    });
    const findDisk = (zone: string, name: unknown): SeedDisk => {
      const d = st.disks.find((x) => x.zone === zone && x.name === name);
      if (!d) throw errors.notFound(`The resource 'projects/${project}/zones/${zone}/disks/${String(name)}' was not found`);
      return d;
    };

    // ---- snapshots ---------------------------------------------------------------------------
    const snapshotJson = (s: SeedSnapshot): Json => {
      const size = Number(s.diskSizeGb ?? 10);
      return {
        kind: 'compute#snapshot',
        id: numericId(`snapshot/${s.name}`),
        creationTimestamp: s.creationTimestamp,
        name: s.name,
        status: s.status ?? 'READY',
        sourceDisk: s.sourceDisk ?? '',
        sourceDiskId: s.sourceDisk ? numericId(`disk/${s.sourceDisk.split('/zones/')[1]?.replace('/disks/', '/') ?? s.sourceDisk}`) : undefined,
        diskSizeGb: String(size),
        storageBytes: s.storageBytes ?? String(Math.round(size * GIB * 0.1)),
        storageBytesStatus: 'UP_TO_DATE',
        selfLink: `${base}/global/snapshots/${s.name}`,
        labels: s.labels ?? {},
        labelFingerprint: createHash('sha1').update(JSON.stringify(s.labels ?? {})).digest('base64').slice(0, 12),
        storageLocations: ['us'],
        snapshotType: 'STANDARD',
        architecture: 'X86_64',
      };
    };
    const findSnapshot = (name: unknown): SeedSnapshot => {
      const s = st.snapshots.find((x) => x.name === name);
      if (!s) throw errors.notFound(`The resource 'projects/${project}/global/snapshots/${String(name)}' was not found`);
      return s;
    };
    const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

    const paged = <T>(items: T[], maxResults: unknown, pageToken: unknown): { items: T[]; nextPageToken?: string } => {
      const size = typeof maxResults === 'number' && maxResults > 0 ? Math.min(maxResults, 500) : 500;
      const start = typeof pageToken === 'string' && pageToken ? Number(Buffer.from(pageToken, 'base64url').toString()) || 0 : 0;
      const next = start + size < items.length ? Buffer.from(String(start + size)).toString('base64url') : undefined;
      return { items: items.slice(start, start + size), ...(next ? { nextPageToken: next } : {}) };
    };

    ctx.contracts.bind({
      api: 'compute',
      pkg: 'compute',
      service: 'google.cloud.compute.v1.Disks',
      handlers: {
        Get(req) {
          checkProject(req.project);
          return diskJson(findDisk(checkZone(req.zone), req.disk));
        },
        List(req) {
          checkProject(req.project);
          const zone = checkZone(req.zone);
          const p = paged(st.disks.filter((d) => d.zone === zone).map(diskJson), req.maxResults, req.pageToken);
          return { kind: 'compute#diskList', id: `projects/${project}/zones/${zone}/disks`, ...p, selfLink: `${base}/zones/${zone}/disks` };
        },
        AggregatedList(req) {
          checkProject(req.project);
          const svc = ctx.services.get('compute') as { state: { zones: { name: string }[] } } | undefined;
          const zones = new Set<string>([...(svc?.state.zones.map((z) => z.name) ?? []), ...st.disks.map((d) => d.zone)]);
          const items: Record<string, Json> = {};
          for (const z of [...zones].sort()) {
            const disks = st.disks.filter((d) => d.zone === z);
            if (disks.length) items[`zones/${z}`] = { disks: disks.map(diskJson) };
            else if (req.includeAllScopes === true) {
              items[`zones/${z}`] = { warning: { code: 'NO_RESULTS_ON_PAGE', message: `There are no results for scope 'zones/${z}' on this page.`, data: [{ key: 'scope', value: `zones/${z}` }] } };
            }
          }
          return { kind: 'compute#diskAggregatedList', id: `projects/${project}/aggregated/disks`, items, selfLink: `${base}/aggregated/disks` };
        },
        Delete(req) {
          checkProject(req.project);
          const zone = checkZone(req.zone);
          const d = findDisk(zone, req.disk);
          if (d.users?.length) {
            throw new errors.GoogleError('FAILED_PRECONDITION', `The disk resource 'projects/${project}/zones/${zone}/disks/${d.name}' is already being used by '${d.users[0]?.replace(/^.*\/projects\//, 'projects/')}'`, [errors.errorInfo('RESOURCE_IN_USE_BY_ANOTHER_RESOURCE', 'compute.googleapis.com')], { httpStatus: 400 });
          }
          d.status = 'DELETING';
          return startOperation({
            zone,
            operationType: 'delete',
            targetLink: `${base}/zones/${zone}/disks/${d.name}`,
            rpc: 'Delete',
            path: `/compute/v1/projects/${project}/zones/${zone}/disks/${d.name}`,
            apply: () => {
              st.disks = st.disks.filter((x) => x !== d);
            },
            failed: () => {
              d.status = 'READY';
            },
          });
        },
        CreateSnapshot(req) {
          checkProject(req.project);
          const zone = checkZone(req.zone);
          const d = findDisk(zone, req.disk);
          const res = (req.snapshotResource ?? {}) as Json;
          const name = String(res.name ?? '');
          if (!NAME.test(name)) {
            throw errors.invalidArgument(`Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`);
          }
          if (st.snapshots.some((s) => s.name === name)) throw new errors.GoogleError('ALREADY_EXISTS', `The resource 'projects/${project}/global/snapshots/${name}' already exists`, [], { httpStatus: 409 });
          const snap: SeedSnapshot = {
            name,
            sourceDisk: `${base}/zones/${zone}/disks/${d.name}`,
            diskSizeGb: String(d.sizeGb),
            labels: (res.labels as Record<string, string> | undefined) ?? {},
            creationTimestamp: new Date().toISOString(),
            status: 'CREATING',
          };
          st.snapshots.push(snap);
          return startOperation({
            zone,
            operationType: 'createSnapshot',
            targetLink: `${base}/zones/${zone}/disks/${d.name}`,
            rpc: 'CreateSnapshot',
            path: `/compute/v1/projects/${project}/zones/${zone}/disks/${d.name}/createSnapshot`,
            apply: () => {
              snap.status = 'READY';
            },
            failed: () => {
              st.snapshots = st.snapshots.filter((s) => s !== snap);
            },
          });
        },
      },
    });

    ctx.contracts.bind({
      api: 'compute',
      pkg: 'compute',
      service: 'google.cloud.compute.v1.Snapshots',
      handlers: {
        Get(req) {
          checkProject(req.project);
          return snapshotJson(findSnapshot(req.snapshot));
        },
        List(req) {
          checkProject(req.project);
          const p = paged(st.snapshots.map(snapshotJson), req.maxResults, req.pageToken);
          return { kind: 'compute#snapshotList', id: `projects/${project}/global/snapshots`, ...p, selfLink: `${base}/global/snapshots` };
        },
        Delete(req) {
          checkProject(req.project);
          const s = findSnapshot(req.snapshot);
          s.status = 'DELETING';
          return startOperation({
            operationType: 'delete',
            targetLink: `${base}/global/snapshots/${s.name}`,
            rpc: 'Delete',
            path: `/compute/v1/projects/${project}/global/snapshots/${s.name}`,
            apply: () => {
              st.snapshots = st.snapshots.filter((x) => x !== s);
            },
            failed: () => {
              s.status = 'READY';
            },
          });
        },
      },
    });

    ctx.contracts.bind({
      api: 'compute',
      pkg: 'compute',
      service: 'google.cloud.compute.v1.ZoneOperations',
      handlers: {
        Get(req) {
          checkProject(req.project);
          return getOp(checkZone(req.zone), req.operation);
        },
        List(req) {
          checkProject(req.project);
          const zone = checkZone(req.zone);
          return listOps(zone, `${base}/zones/${zone}/operations`);
        },
        async Wait(req) {
          checkProject(req.project);
          return waitOp(getOp(checkZone(req.zone), req.operation));
        },
      },
    });
    ctx.contracts.bind({
      api: 'compute',
      pkg: 'compute',
      service: 'google.cloud.compute.v1.GlobalOperations',
      handlers: {
        Get(req) {
          checkProject(req.project);
          return getOp('global', req.operation);
        },
        List(req) {
          checkProject(req.project);
          return listOps('global', `${base}/global/operations`);
        },
        async Wait(req) {
          checkProject(req.project);
          return waitOp(getOp('global', req.operation));
        },
      },
    });
  },
};

export default computeDisks;
