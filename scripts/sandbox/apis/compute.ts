// Compute Engine compute/v1 subset: regions (with quotas), zones, accelerator types, machine types.
// Routes and shapes: google.cloud.compute.v1 from @google-cloud/compute (templates already start with /compute/v1).
// CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=http://127.0.0.1:PORT/compute/v1/
// Accelerator and machine types default to data/compute-shapes.json (dated, sources named there);
// a seed's `compute.acceleratorTypes` / `compute.machineTypes` replace an entry of the same name.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiModule, SandboxContext } from '../context.js';

type Json = Record<string, unknown>;

export interface AcceleratorShape {
  description: string;
  maximumCardsPerInstance: number;
  zones: string[];
  /** Compute regional quota metric, on-demand and Spot/preemptible. */
  metric?: string;
  preemptibleMetric?: string;
  /** Cloud Quotas `gpu_family` dimension for families on the shared GPUS-PER-GPU-FAMILY quota. */
  gpuFamily?: string;
  /** GPU counts an N1 VM may attach; unset for types that only come built into their machine types. */
  n1Counts?: number[];
}

export interface MachineShape {
  guestCpus: number;
  memoryMb: number;
  description: string;
  isSharedCpu?: boolean;
  /** GPUs the type carries built in (A2, A3, A4, G2). */
  accelerators?: { guestAcceleratorType: string; guestAcceleratorCount: number }[];
  /** Zones that offer it; unset = every zone. */
  zones?: string[];
}

export interface ComputeState {
  regions: { name: string; description?: string; status?: string }[];
  zones: { name: string; region: string; status?: string; description?: string }[];
  /** accelerator type name -> description, max cards per VM, the zones that offer it, quota metrics. */
  acceleratorTypes: Record<string, AcceleratorShape>;
  machineTypes?: Record<string, MachineShape>;
}

export interface ComputeService {
  state: ComputeState;
  zonesOfRegion(region: string): string[];
  /** Accelerator types offered in a zone; undefined if the zone is unknown. */
  acceleratorsInZone(zone: string): string[] | undefined;
  acceleratorType(name: string): AcceleratorShape | undefined;
  /** The machine type offered in `zone` (any zone when omitted), or undefined. */
  machineType(name: string, zone?: string): MachineShape | undefined;
}

const here = dirname(fileURLToPath(import.meta.url));
export const SHAPES_FILE = join(here, '..', 'data', 'compute-shapes.json');
let shapes: { acceleratorTypes: Record<string, AcceleratorShape>; machineTypes: Record<string, MachineShape> } | undefined;
/** The dated shape catalog, read once per process on first use. */
export function shapeCatalog(): NonNullable<typeof shapes> {
  shapes ??= JSON.parse(readFileSync(SHAPES_FILE, 'utf8')) as NonNullable<typeof shapes>;
  return shapes;
}

const numericId = (s: string): string => BigInt(`0x${createHash('sha256').update(s).digest('hex').slice(0, 15)}`).toString();
const CREATED = '1969-12-31T16:00:00.000-08:00';

const computeModule: ApiModule = {
  id: 'compute',
  register(ctx: SandboxContext) {
    const { errors } = ctx;
    const st = ctx.state.section<ComputeState>('compute', () => ({ regions: [], zones: [], acceleratorTypes: {} }));
    st.regions ??= [];
    st.zones ??= [];
    const seededAccelerators = st.acceleratorTypes ?? {};
    const seededMachines = st.machineTypes ?? {};
    // Catalog entries merged in on first use, so a start that never asks pays nothing.
    let merged = false;
    const shapesNow = (): void => {
      if (merged) return;
      merged = true;
      const cat = shapeCatalog();
      st.acceleratorTypes = { ...structuredClone(cat.acceleratorTypes), ...seededAccelerators };
      st.machineTypes = { ...structuredClone(cat.machineTypes), ...seededMachines };
    };
    const base = `${ctx.baseUrl}/compute/v1/projects/${ctx.project.projectId}`;

    const service: ComputeService = {
      state: st,
      zonesOfRegion: (r) => st.zones.filter((z) => z.region === r).map((z) => z.name),
      acceleratorsInZone(zone) {
        if (!st.zones.some((z) => z.name === zone)) return undefined;
        shapesNow();
        return Object.entries(st.acceleratorTypes)
          .filter(([, t]) => t.zones.includes(zone))
          .map(([n]) => n);
      },
      acceleratorType(name) {
        shapesNow();
        return st.acceleratorTypes[name];
      },
      machineType(name, zone) {
        shapesNow();
        const m = st.machineTypes?.[name];
        if (!m) return undefined;
        if (zone !== undefined && (!st.zones.some((z) => z.name === zone) || (m.zones && !m.zones.includes(zone)))) return undefined;
        return m;
      },
    };
    ctx.state.onDump('compute', () => {
      const { acceleratorTypes: _a, machineTypes: _m, ...out } = st as ComputeState & Json;
      return {
        ...out,
        ...(Object.keys(seededAccelerators).length > 0 ? { acceleratorTypes: seededAccelerators } : {}),
        ...(Object.keys(seededMachines).length > 0 ? { machineTypes: seededMachines } : {}),
      };
    });
    ctx.services.set('compute', service);

    const checkProject = (p: unknown): void => {
      if (p !== ctx.project.projectId && p !== ctx.project.projectNumber) {
        throw errors.notFound(`The resource 'projects/${String(p)}' was not found`);
      }
    };
    const quotasOf = (region: string | undefined): Json[] =>
      ctx.quota
        .entries()
        .filter((e) => e.region === region && (e.service ?? 'compute.googleapis.com') === 'compute.googleapis.com')
        .map((e) => ({ metric: e.metric, limit: e.limit, usage: ctx.quota.usage(e) }));
    const regionJson = (r: ComputeState['regions'][number]): Json => ({
      kind: 'compute#region',
      id: numericId(`region/${r.name}`),
      creationTimestamp: CREATED,
      name: r.name,
      description: r.description ?? r.name,
      status: r.status ?? 'UP',
      zones: service.zonesOfRegion(r.name).map((z) => `${base}/zones/${z}`),
      quotas: quotasOf(r.name),
      selfLink: `${base}/regions/${r.name}`,
      supportsPzs: false,
    });
    const zoneJson = (z: ComputeState['zones'][number]): Json => ({
      kind: 'compute#zone',
      id: numericId(`zone/${z.name}`),
      creationTimestamp: CREATED,
      name: z.name,
      description: z.description ?? z.name,
      status: z.status ?? 'UP',
      region: `${base}/regions/${z.region}`,
      selfLink: `${base}/zones/${z.name}`,
      availableCpuPlatforms: ['Intel Cascade Lake', 'Intel Ice Lake', 'AMD Milan', 'Intel Sapphire Rapids'],
      supportsPzs: false,
    });
    const accJson = (name: string, zone: string): Json => {
      shapesNow();
      const t = st.acceleratorTypes[name];
      return {
        kind: 'compute#acceleratorType',
        id: numericId(`acc/${zone}/${name}`),
        creationTimestamp: CREATED,
        name,
        description: t?.description ?? name,
        selfLink: `${base}/zones/${zone}/acceleratorTypes/${name}`,
        zone: `${base}/zones/${zone}`,
        maximumCardsPerInstance: t?.maximumCardsPerInstance ?? 8,
      };
    };
    const getRegion = (name: unknown): ComputeState['regions'][number] => {
      const r = st.regions.find((x) => x.name === name);
      if (!r) throw errors.notFound(`The resource 'projects/${ctx.project.projectId}/regions/${String(name)}' was not found`);
      return r;
    };
    const getZone = (name: unknown): ComputeState['zones'][number] => {
      const z = st.zones.find((x) => x.name === name);
      if (!z) throw errors.notFound(`The resource 'projects/${ctx.project.projectId}/zones/${String(name)}' was not found`);
      return z;
    };

    ctx.contracts.bind({
      api: 'compute',
      pkg: 'compute',
      service: 'google.cloud.compute.v1.Regions',
      handlers: {
        Get(req) {
          checkProject(req.project);
          return regionJson(getRegion(req.region));
        },
        List(req) {
          checkProject(req.project);
          return { kind: 'compute#regionList', id: `projects/${ctx.project.projectId}/regions`, items: st.regions.map(regionJson), selfLink: `${base}/regions` };
        },
      },
    });
    ctx.contracts.bind({
      api: 'compute',
      pkg: 'compute',
      service: 'google.cloud.compute.v1.Zones',
      handlers: {
        Get(req) {
          checkProject(req.project);
          return zoneJson(getZone(req.zone));
        },
        List(req) {
          checkProject(req.project);
          return { kind: 'compute#zoneList', id: `projects/${ctx.project.projectId}/zones`, items: st.zones.map(zoneJson), selfLink: `${base}/zones` };
        },
      },
    });
    ctx.contracts.bind({
      api: 'compute',
      pkg: 'compute',
      service: 'google.cloud.compute.v1.Projects',
      handlers: {
        Get(req) {
          checkProject(req.project);
          return {
            kind: 'compute#project',
            id: ctx.project.projectNumber,
            name: ctx.project.projectId,
            creationTimestamp: CREATED,
            quotas: quotasOf(undefined),
            selfLink: base,
            defaultNetworkTier: 'PREMIUM',
            xpnProjectStatus: 'UNSPECIFIED_XPN_PROJECT_STATUS',
          };
        },
      },
    });
    ctx.contracts.bind({
      api: 'compute',
      pkg: 'compute',
      service: 'google.cloud.compute.v1.AcceleratorTypes',
      handlers: {
        Get(req) {
          checkProject(req.project);
          getZone(req.zone);
          const offered = service.acceleratorsInZone(String(req.zone)) ?? [];
          if (!offered.includes(String(req.acceleratorType))) {
            throw errors.notFound(`The resource 'projects/${ctx.project.projectId}/zones/${String(req.zone)}/acceleratorTypes/${String(req.acceleratorType)}' was not found`);
          }
          return accJson(String(req.acceleratorType), String(req.zone));
        },
        List(req) {
          checkProject(req.project);
          getZone(req.zone);
          const zone = String(req.zone);
          return {
            kind: 'compute#acceleratorTypeList',
            id: `projects/${ctx.project.projectId}/zones/${zone}/acceleratorTypes`,
            items: (service.acceleratorsInZone(zone) ?? []).map((n) => accJson(n, zone)),
            selfLink: `${base}/zones/${zone}/acceleratorTypes`,
          };
        },
        AggregatedList(req) {
          checkProject(req.project);
          const items: Record<string, Json> = {};
          for (const z of st.zones) {
            const accs = service.acceleratorsInZone(z.name) ?? [];
            if (accs.length > 0) {
              items[`zones/${z.name}`] = { acceleratorTypes: accs.map((n) => accJson(n, z.name)) };
            } else if (req.includeAllScopes === true) {
              items[`zones/${z.name}`] = {
                warning: {
                  code: 'NO_RESULTS_ON_PAGE',
                  message: `There are no results for scope 'zones/${z.name}' on this page.`,
                  data: [{ key: 'scope', value: `zones/${z.name}` }],
                },
              };
            }
          }
          return { kind: 'compute#acceleratorTypeAggregatedList', id: `projects/${ctx.project.projectId}/aggregated/acceleratorTypes`, items, selfLink: `${base}/aggregated/acceleratorTypes` };
        },
      },
    });
    machineTypeHandlers(ctx, service, base, checkProject, getZone);
  },
};

/** machineTypes get / list / aggregatedList (what `gcloud compute machine-types list|describe` call). */
function machineTypeHandlers(
  ctx: SandboxContext,
  service: ComputeService,
  base: string,
  checkProject: (p: unknown) => void,
  getZone: (z: unknown) => unknown,
): void {
  const names = (zone: string): string[] => {
    service.acceleratorType(''); // merges the catalog in
    return Object.keys(service.state.machineTypes ?? {}).filter((n) => service.machineType(n, zone));
  };
  const json = (name: string, zone: string): Json => {
    const m = service.machineType(name, zone) as MachineShape;
    return {
      kind: 'compute#machineType',
      id: numericId(`machineType/${name}`),
      creationTimestamp: CREATED,
      name,
      description: m.description,
      guestCpus: m.guestCpus,
      memoryMb: m.memoryMb,
      imageSpaceGb: 0,
      maximumPersistentDisks: m.isSharedCpu ? 16 : 128,
      maximumPersistentDisksSizeGb: m.isSharedCpu ? '3072' : '263168',
      zone,
      selfLink: `${base}/zones/${zone}/machineTypes/${name}`,
      isSharedCpu: m.isSharedCpu ?? false,
      ...(m.accelerators ? { accelerators: m.accelerators } : {}),
      architecture: 'X86_64',
    };
  };
  const project = ctx.project.projectId;
  ctx.contracts.bind({
    api: 'compute',
    pkg: 'compute',
    service: 'google.cloud.compute.v1.MachineTypes',
    handlers: {
      Get(req) {
        checkProject(req.project);
        getZone(req.zone);
        const zone = String(req.zone);
        if (!service.machineType(String(req.machineType), zone)) {
          throw ctx.errors.notFound(`The resource 'projects/${project}/zones/${zone}/machineTypes/${String(req.machineType)}' was not found`);
        }
        return json(String(req.machineType), zone);
      },
      List(req) {
        checkProject(req.project);
        getZone(req.zone);
        const zone = String(req.zone);
        return { kind: 'compute#machineTypeList', id: `projects/${project}/zones/${zone}/machineTypes`, items: names(zone).map((n) => json(n, zone)), selfLink: `${base}/zones/${zone}/machineTypes` };
      },
      AggregatedList(req) {
        checkProject(req.project);
        const items: Record<string, Json> = {};
        for (const z of service.state.zones) {
          const here = names(z.name);
          if (here.length > 0) items[`zones/${z.name}`] = { machineTypes: here.map((n) => json(n, z.name)) };
        }
        return { kind: 'compute#machineTypeAggregatedList', id: `projects/${project}/aggregated/machineTypes`, items, selfLink: `${base}/aggregated/machineTypes` };
      },
    },
  });
}

export default computeModule;
