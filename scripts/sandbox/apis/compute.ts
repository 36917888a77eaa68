// Compute Engine compute/v1 subset: regions (with quotas), zones, accelerator types.
// Routes and shapes: google.cloud.compute.v1 from @google-cloud/compute (templates already start with /compute/v1).
// CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=http://127.0.0.1:PORT/compute/v1/
import { createHash } from 'node:crypto';
import type { ApiModule, SandboxContext } from '../context.js';

type Json = Record<string, unknown>;

export interface ComputeState {
  regions: { name: string; description?: string; status?: string }[];
  zones: { name: string; region: string; status?: string; description?: string }[];
  /** accelerator type name -> description, max cards per VM and the zones that offer it. */
  acceleratorTypes: Record<string, { description: string; maximumCardsPerInstance: number; zones: string[] }>;
}

export interface ComputeService {
  state: ComputeState;
  zonesOfRegion(region: string): string[];
  /** Accelerator types offered in a zone; undefined if the zone is unknown. */
  acceleratorsInZone(zone: string): string[] | undefined;
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
    st.acceleratorTypes ??= {};
    const base = `${ctx.baseUrl}/compute/v1/projects/${ctx.project.projectId}`;

    const service: ComputeService = {
      state: st,
      zonesOfRegion: (r) => st.zones.filter((z) => z.region === r).map((z) => z.name),
      acceleratorsInZone(zone) {
        if (!st.zones.some((z) => z.name === zone)) return undefined;
        return Object.entries(st.acceleratorTypes)
          .filter(([, t]) => t.zones.includes(zone))
          .map(([n]) => n);
      },
    };
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
  },
};

export default computeModule;
