import { runAction } from '../lib/entry.js';
import { ActionError } from '../lib/errors.js';
import { estimateHourlyCost, readAccelerator, REGION_PATTERN } from '../lib/gpu.js';
import { findGpuCapacity, fittingZones, type GpuCapacity } from '../lib/gpu-capacity.js';
import { explainQuotaApiError } from '../lib/gpu-quota.js';
import { readBool, readInt, readList } from '../lib/inputs.js';
import { info, setOutput, warning } from '../lib/runner.js';
import { Summary } from '../lib/summary.js';
import { readProjectId } from '../lib/google/project.js';


/** Unlimited headroom is Infinity in the library; JSON has no Infinity, so it becomes null. */
const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);
const shown = (n: number): string | number => (Number.isFinite(n) ? n : 'unlimited');

/** Every input, read and checked once. */
function readInputs() {
  return {
    project: readProjectId(),
    type: readAccelerator('accelerator_type'),
    count: readInt('count', { min: 1, max: 4096 }),
    regions: readList('regions', { item: REGION_PATTERN, accepted: 'a Compute region such as us-central1', unique: true }),
    spot: readBool('spot'),
    requireFit: readBool('require_fit'),
  };
}

await runAction({
  main: async () => {
    const { project, type, count, regions, spot, requireFit } = readInputs();

    let capacity: GpuCapacity;
    try {
      capacity = await findGpuCapacity({ project, type, count, regions, spot });
    } catch (err) {
      throw explainQuotaApiError(err, project);
    }
    const fitting = fittingZones(capacity);

    setOutput(
      'zones',
      JSON.stringify(
        capacity.zones.map((z) => ({
          zone: z.zone,
          region: z.region,
          status: z.status,
          max_gpus_per_node: z.maxGpusPerNode,
          regional_headroom: finite(z.regionalHeadroom),
          global_headroom: finite(z.globalHeadroom),
          headroom: finite(z.headroom),
          fits: z.fits,
          rank: z.rank,
        })),
      ),
    );
    setOutput('best_zone', capacity.best?.zone ?? '');
    setOutput('zone_list', fitting.join(','));
    setOutput(
      'regions',
      JSON.stringify(capacity.regions.map((r) => ({ region: r.region, metric: r.metric, limit: r.limit, usage: r.usage, headroom: finite(r.headroom), source: r.source }))),
    );
    setOutput('global_headroom', Number.isFinite(capacity.global.headroom) ? capacity.global.headroom : -1);
    setOutput('fits', fitting.length > 0);

    const what = `${count} ${spot ? 'Spot ' : ''}${type.displayName} GPU${count === 1 ? '' : 's'}`;
    const summary = new Summary().heading(`GPU capacity: ${what}`);
    if (capacity.zones.length === 0) {
      summary.paragraph(`No zone${regions.length ? ` of ${regions.join(', ')}` : ''} offers ${type.name}.`);
    } else {
      summary.table(
        ['Rank', 'Zone', 'Region', 'Status', 'Max GPUs/node', 'Regional headroom', 'Global headroom', 'Fits'],
        capacity.zones.map((z) => [z.rank, z.zone, z.region, z.status, z.maxGpusPerNode, shown(z.regionalHeadroom), shown(z.globalHeadroom), z.fits ? 'yes' : 'no']),
      );
    }
    summary.table(
      ['Quota', 'Region', 'Usage', 'Limit', 'Headroom'],
      [
        ...capacity.regions.map((r) => [r.metric, r.region, r.source === 'compute' ? r.usage : 'unknown', r.limit < 0 ? 'unlimited' : r.limit, shown(r.headroom)]),
        ['GPUS_ALL_REGIONS', 'all regions', capacity.global.usage, capacity.global.limit < 0 ? 'unlimited' : capacity.global.limit, shown(capacity.global.headroom)],
      ],
    );
    const cost = estimateHourlyCost(type, count, spot);
    summary.paragraph(
      `${capacity.best ? `**Best zone:** ${capacity.best.zone}.` : `**No zone has quota headroom for ${what}.**`} Estimated cost: about $${cost.toFixed(2)}/hour ` +
        `(${spot ? 'Spot' : 'on-demand'} list price with the default machine type; quota headroom is not stock: a zone can still be out of GPUs).`,
    );
    summary.write();

    if (capacity.zones.length === 0) {
      const msg = `No zone${regions.length ? ` of ${regions.join(', ')}` : ''} offers ${type.name} to project ${project}.`;
      if (requireFit) throw new ActionError(msg, { fix: 'Choose other regions (leave regions empty to search all), or another accelerator type.' });
      warning(msg);
      return;
    }
    info(`${capacity.zones.length} zone(s) offer ${type.name}; ${fitting.length} with headroom for ${what}${fitting.length ? `: ${fitting.join(', ')}` : ''}.`);
    if (fitting.length === 0) {
      const msg = `No zone has quota headroom for ${what} (best headroom ${shown(capacity.zones[0]?.headroom ?? 0)}).`;
      if (requireFit) {
        throw new ActionError(msg, { fix: `Request more quota with the gpu-quota action (count: ${count}) or lower count.` });
      }
      warning(msg);
    }
  },
});
