// Compute Engine compute/v1 managed instance groups: the groups behind every GKE node pool, one per
// pool zone (the URLs the pool lists in instanceGroupUrls). Derived live from the container module's
// state: targetSize is the pool's node count in that zone; currentActions and status.isStable follow
// the pool's status (PROVISIONING: creating, STOPPING: deleting, RECONCILING: not stable).
// Routes and shapes: google.cloud.compute.v1.InstanceGroupManagers (Get, List, AggregatedList),
// InstanceGroups (Get, List: the group's size) and Autoscalers (List: none, GKE scales its pools
// itself) from @google-cloud/compute; the last two are what `gcloud compute instance-groups managed
// describe/list --zones` reads besides the managers. Read-only: GKE owns these groups.
import { createHash } from 'node:crypto';
import type { ApiModule, SandboxContext } from '../context.js';
import type { ContainerService } from './container.js';

type Json = Record<string, unknown>;

const numericId = (s: string): string => BigInt(`0x${createHash('sha256').update(s).digest('hex').slice(0, 15)}`).toString();
const hash8 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);

const ACTIONS = ['abandoning', 'creating', 'creatingWithoutRetries', 'deleting', 'none', 'recreating', 'refreshing', 'restarting', 'resuming', 'starting', 'stopping', 'suspending', 'verifying'] as const;

const computeIgm: ApiModule = {
  id: 'compute-igm',
  register(ctx: SandboxContext) {
    const { errors } = ctx;
    const project = ctx.project.projectId;
    const base = `${ctx.baseUrl}/compute/v1/projects/${project}`;
    const container = (): ContainerService | undefined => ctx.services.get('container') as ContainerService | undefined;

    const checkProject = (p: unknown): void => {
      if (p !== project && p !== ctx.project.projectNumber) throw errors.notFound(`The resource 'projects/${String(p)}' was not found`);
    };
    const checkZone = (zone: unknown): string => {
      const svc = ctx.services.get('compute') as { state: { zones: { name: string }[] } } | undefined;
      const z = String(zone);
      if (svc && !svc.state.zones.some((x) => x.name === z)) throw errors.notFound(`The resource 'projects/${project}/zones/${z}' was not found`);
      return z;
    };

    /** Every group of every pool, as the API shows it. */
    function groups(): Json[] {
      const svc = container();
      if (!svc) return [];
      const out: Json[] = [];
      for (const c of svc.state.clusters) {
        const clusterPath = `projects/${project}/locations/${String(c.location)}/clusters/${String(c.name)}`;
        for (const np of (c.nodePools as Json[] | undefined) ?? []) {
          const key = `${clusterPath}/nodePools/${String(np.name)}`;
          const nodes = svc.state.nodes[key] ?? {};
          for (const url of (np.instanceGroupUrls as string[] | undefined) ?? []) {
            const m = /\/zones\/([^/]+)\/instanceGroupManagers\/([^/]+)$/.exec(url);
            if (!m) continue;
            const [, zone, name] = m as unknown as [string, string, string];
            const size = nodes[zone] ?? 0;
            const status = String(np.status ?? 'RUNNING');
            const actions: Record<string, number> = Object.fromEntries(ACTIONS.map((a) => [a, 0]));
            if (status === 'PROVISIONING') actions.creating = size;
            else if (status === 'STOPPING') actions.deleting = size;
            else actions.none = size;
            const template = `${base}/global/instanceTemplates/gke-${String(c.name)}-${String(np.name)}-${hash8(`${key}/template`)}`.slice(0, 200);
            const stable = status === 'RUNNING' || status === 'RUNNING_WITH_ERROR' || status === 'ERROR';
            out.push({
              kind: 'compute#instanceGroupManager',
              id: numericId(`igm/${zone}/${name}`),
              creationTimestamp: String(c.createTime ?? new Date(0).toISOString()),
              name,
              description: `GKE node pool ${String(np.name)} of cluster ${String(c.name)}`,
              zone: `${base}/zones/${zone}`,
              selfLink: `${base}/zones/${zone}/instanceGroupManagers/${name}`,
              instanceGroup: `${base}/zones/${zone}/instanceGroups/${name}`,
              instanceTemplate: template,
              versions: [{ instanceTemplate: template }],
              baseInstanceName: `gke-${String(c.name)}-${String(np.name)}-${hash8(`${key}/${zone}`)}`.slice(0, 58),
              fingerprint: Buffer.from(hash8(`${key}/${zone}/${size}/${status}`), 'hex').toString('base64'),
              targetSize: size,
              targetStoppedSize: 0,
              targetSuspendedSize: 0,
              currentActions: actions,
              status: {
                isStable: stable,
                versionTarget: { isReached: stable },
                stateful: { hasStatefulConfig: false, perInstanceConfigs: { allEffective: true } },
              },
              updatePolicy: {
                type: 'OPPORTUNISTIC',
                minimalAction: 'REPLACE',
                maxSurge: { fixed: 1, calculated: 1 },
                maxUnavailable: { fixed: 1, calculated: 1 },
                replacementMethod: 'SUBSTITUTE',
              },
              listManagedInstancesResults: 'PAGELESS',
              satisfiesPzi: false,
              satisfiesPzs: false,
            });
          }
        }
      }
      return out;
    }
    const inZone = (zone: string): Json[] => groups().filter((g) => String(g.zone).endsWith(`/zones/${zone}`));

    ctx.contracts.bind({
      api: 'compute',
      pkg: 'compute',
      service: 'google.cloud.compute.v1.InstanceGroupManagers',
      handlers: {
        Get(req) {
          checkProject(req.project);
          const zone = checkZone(req.zone);
          const g = inZone(zone).find((x) => x.name === req.instanceGroupManager);
          if (!g) throw errors.notFound(`The resource 'projects/${project}/zones/${zone}/instanceGroupManagers/${String(req.instanceGroupManager)}' was not found`);
          return g;
        },
        List(req) {
          checkProject(req.project);
          const zone = checkZone(req.zone);
          return { kind: 'compute#instanceGroupManagerList', id: `projects/${project}/zones/${zone}/instanceGroupManagers`, items: inZone(zone), selfLink: `${base}/zones/${zone}/instanceGroupManagers` };
        },
        AggregatedList(req) {
          checkProject(req.project);
          const svc = ctx.services.get('compute') as { state: { zones: { name: string }[] } } | undefined;
          const all = groups();
          const items: Record<string, Json> = {};
          for (const z of svc?.state.zones ?? []) {
            const here = all.filter((g) => String(g.zone).endsWith(`/zones/${z.name}`));
            if (here.length > 0) items[`zones/${z.name}`] = { instanceGroupManagers: here };
            else if (req.includeAllScopes === true) {
              items[`zones/${z.name}`] = {
                warning: { code: 'NO_RESULTS_ON_PAGE', message: `There are no results for scope 'zones/${z.name}' on this page.`, data: [{ key: 'scope', value: `zones/${z.name}` }] },
              };
            }
          }
          return { kind: 'compute#instanceGroupManagerAggregatedList', id: `projects/${project}/aggregated/instanceGroupManagers`, items, selfLink: `${base}/aggregated/instanceGroupManagers` };
        },
      },
    });
    const groupJson = (g: Json): Json => ({
      kind: 'compute#instanceGroup',
      id: numericId(`ig/${String(g.instanceGroup)}`),
      creationTimestamp: g.creationTimestamp,
      name: g.name,
      description: "This instance group is controlled by Instance Group Manager '" + String(g.name) + "'. To modify instances in this group, use the Instance Group Manager API: https://cloud.google.com/compute/docs/reference/latest/instanceGroupManagers",
      zone: g.zone,
      network: `${base}/global/networks/default`,
      subnetwork: `${base.replace(/\/projects\/.*/, '')}/projects/${project}/regions/${String(g.zone).split('/').pop()?.replace(/-[a-z]$/, '')}/subnetworks/default`,
      fingerprint: g.fingerprint,
      selfLink: g.instanceGroup,
      size: g.targetSize,
    });
    ctx.contracts.bind({
      api: 'compute',
      pkg: 'compute',
      service: 'google.cloud.compute.v1.InstanceGroups',
      handlers: {
        Get(req) {
          checkProject(req.project);
          const zone = checkZone(req.zone);
          const g = inZone(zone).find((x) => x.name === req.instanceGroup);
          if (!g) throw errors.notFound(`The resource 'projects/${project}/zones/${zone}/instanceGroups/${String(req.instanceGroup)}' was not found`);
          return groupJson(g);
        },
        List(req) {
          checkProject(req.project);
          const zone = checkZone(req.zone);
          return { kind: 'compute#instanceGroupList', id: `projects/${project}/zones/${zone}/instanceGroups`, items: inZone(zone).map(groupJson), selfLink: `${base}/zones/${zone}/instanceGroups` };
        },
      },
    });
    ctx.contracts.bind({
      api: 'compute',
      pkg: 'compute',
      service: 'google.cloud.compute.v1.Autoscalers',
      handlers: {
        List(req) {
          checkProject(req.project);
          const zone = checkZone(req.zone);
          return { kind: 'compute#autoscalerList', id: `projects/${project}/zones/${zone}/autoscalers`, items: [], selfLink: `${base}/zones/${zone}/autoscalers` };
        },
      },
    });
  },
};

export default computeIgm;
