// Cloud Billing Catalog v1 (cloudbilling.googleapis.com): services.list and services.skus.list,
// routes and shapes from google.cloud.billing.v1.CloudCatalog in @google-cloud/billing.
// CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBILLING=http://127.0.0.1:PORT/cloudbilling/
// Seed section `cloudbilling`: { services: [{ serviceId, displayName }], skus: { SERVICE_ID: [Sku JSON] } };
// the default is a small us-central1 / Americas price table for Compute Engine and Cloud Storage
// (GPUs by family, Spot GPUs, machine cores and RAM per family, PD capacity, PD snapshots, GCS Standard).
import type { ApiModule, SandboxContext } from '../context.js';

type Json = Record<string, unknown>;

export const COMPUTE_ENGINE_SERVICE_ID = '6F81-5844-456A';
export const CLOUD_STORAGE_SERVICE_ID = '95FF-2EF5-5EA1';
export const ARTIFACT_REGISTRY_SERVICE_ID = '149C-F9EC-3994';

export interface CloudBillingState {
  services: { serviceId: string; displayName: string; businessEntityName?: string }[];
  skus: Record<string, Json[]>;
}

const EFFECTIVE = '2025-01-01T08:00:00Z';

function money(usd: number): Json {
  const units = Math.floor(usd);
  return { currencyCode: 'USD', units: String(units), nanos: Math.round((usd - units) * 1e9) };
}

let skuCounter = 0;
function sku(serviceId: string, description: string, resourceFamily: string, resourceGroup: string, usageType: string, usageUnit: string, unitDescription: string, usd: number, regions = ['us-central1']): Json {
  skuCounter += 1;
  const skuId = `${(0xa000 + skuCounter).toString(16).toUpperCase()}-${(0x1000 + skuCounter * 7).toString(16).toUpperCase()}-${(0x5000 + skuCounter * 13).toString(16).toUpperCase()}`;
  return {
    name: `services/${serviceId}/skus/${skuId}`,
    skuId,
    description,
    category: { serviceDisplayName: serviceId === COMPUTE_ENGINE_SERVICE_ID ? 'Compute Engine' : serviceId === CLOUD_STORAGE_SERVICE_ID ? 'Cloud Storage' : 'Artifact Registry', resourceFamily, resourceGroup, usageType },
    serviceRegions: regions,
    pricingInfo: [{
      effectiveTime: EFFECTIVE,
      summary: '',
      pricingExpression: {
        usageUnit,
        usageUnitDescription: unitDescription,
        baseUnit: usageUnit === 'h' ? 's' : usageUnit === 'GiBy.h' ? 'By.s' : 'By.s',
        baseUnitDescription: usageUnit === 'h' ? 'second' : 'byte second',
        baseUnitConversionFactor: usageUnit === 'h' ? 3600 : usageUnit === 'GiBy.h' ? 3865470566400 : 2.8759101014016e15,
        displayQuantity: 1,
        tieredRates: [{ startUsageAmount: 0, unitPrice: money(usd) }],
      },
      currencyConversionRate: 1,
    }],
    serviceProviderName: 'Google',
    geoTaxonomy: { type: 'REGIONAL', regions },
  };
}

/** A small, plausible list-price table (USD, us-central1). */
export function defaultBillingSeed(): CloudBillingState {
  skuCounter = 0;
  const ce = COMPUTE_ENGINE_SERVICE_ID;
  const gpu = (name: string, onDemand: number, spot: number): Json[] => [
    sku(ce, `Nvidia ${name} GPU running in Americas`, 'Compute', 'GPU', 'OnDemand', 'h', 'hour', onDemand),
    sku(ce, `Nvidia ${name} GPU attached to Spot Preemptible VMs running in Americas`, 'Compute', 'GPU', 'Preemptible', 'h', 'hour', spot),
  ];
  const machine = (family: string, core: number, ram: number): Json[] => [
    sku(ce, `${family} Instance Core running in Americas`, 'Compute', 'CPU', 'OnDemand', 'h', 'hour', core),
    sku(ce, `${family} Instance Ram running in Americas`, 'Compute', 'RAM', 'OnDemand', 'GiBy.h', 'gibibyte hour', ram),
  ];
  return {
    services: [
      { serviceId: ce, displayName: 'Compute Engine', businessEntityName: 'businessEntities/GCP' },
      { serviceId: CLOUD_STORAGE_SERVICE_ID, displayName: 'Cloud Storage', businessEntityName: 'businessEntities/GCP' },
      { serviceId: ARTIFACT_REGISTRY_SERVICE_ID, displayName: 'Artifact Registry', businessEntityName: 'businessEntities/GCP' },
    ],
    skus: {
      [ce]: [
        ...gpu('L4', 0.56, 0.22),
        ...gpu('Tesla T4', 0.35, 0.14),
        ...gpu('Tesla V100', 2.48, 0.99),
        ...gpu('Tesla A100', 2.93, 1.17),
        ...gpu('A100 80GB', 3.93, 1.57),
        ...gpu('H100 80GB', 9.8, 3.92),
        ...machine('G2', 0.02436, 0.00285),
        ...machine('N1 Predefined', 0.031611, 0.004237),
        ...machine('E2', 0.021811, 0.002923),
        ...machine('N2', 0.031611, 0.004237),
        ...machine('A2', 0.031611, 0.004237),
        ...machine('A3', 0.0295, 0.00258),
        sku(ce, 'Storage PD Capacity', 'Storage', 'PDStandard', 'OnDemand', 'GiBy.mo', 'gibibyte month', 0.04),
        sku(ce, 'Balanced PD Capacity', 'Storage', 'SSD', 'OnDemand', 'GiBy.mo', 'gibibyte month', 0.1),
        sku(ce, 'SSD backed PD Capacity', 'Storage', 'SSD', 'OnDemand', 'GiBy.mo', 'gibibyte month', 0.17),
        sku(ce, 'Storage PD Snapshot', 'Storage', 'PDSnapshot', 'OnDemand', 'GiBy.mo', 'gibibyte month', 0.05, ['us']),
      ],
      [CLOUD_STORAGE_SERVICE_ID]: [
        sku(CLOUD_STORAGE_SERVICE_ID, 'Standard Storage US Regional', 'Storage', 'RegionalStorage', 'OnDemand', 'GiBy.mo', 'gibibyte month', 0.02),
        sku(CLOUD_STORAGE_SERVICE_ID, 'Nearline Storage US Regional', 'Storage', 'NearlineStorage', 'OnDemand', 'GiBy.mo', 'gibibyte month', 0.01),
      ],
      [ARTIFACT_REGISTRY_SERVICE_ID]: [
        sku(ARTIFACT_REGISTRY_SERVICE_ID, 'Artifact Registry Storage', 'Storage', 'Storage', 'OnDemand', 'GiBy.mo', 'gibibyte month', 0.1, ['global']),
      ],
    },
  };
}

const cloudbilling: ApiModule = {
  id: 'cloudbilling',
  register(ctx: SandboxContext) {
    const { errors } = ctx;
    const st = ctx.state.section<CloudBillingState>('cloudbilling', defaultBillingSeed);
    st.services ??= [];
    st.skus ??= {};
    const page = <T>(items: T[], pageSize: unknown, pageToken: unknown): { items: T[]; nextPageToken: string } => {
      const size = typeof pageSize === 'number' && pageSize > 0 ? Math.min(pageSize, 5000) : 5000;
      let start = 0;
      if (typeof pageToken === 'string' && pageToken) {
        start = Number(Buffer.from(pageToken, 'base64url').toString('utf8').replace(/^offset:/, ''));
        if (!Number.isInteger(start) || start < 0) throw errors.invalidArgument('Invalid page token.');
      }
      const next = start + size < items.length ? Buffer.from(`offset:${start + size}`).toString('base64url') : '';
      return { items: items.slice(start, start + size), nextPageToken: next };
    };
    ctx.contracts.bind({
      api: 'cloudbilling',
      pkg: 'billing',
      service: 'google.cloud.billing.v1.CloudCatalog',
      prefix: '/cloudbilling',
      handlers: {
        ListServices(req) {
          const p = page(st.services.map((s) => ({ name: `services/${s.serviceId}`, serviceId: s.serviceId, displayName: s.displayName, businessEntityName: s.businessEntityName ?? 'businessEntities/GCP' })), req.pageSize, req.pageToken);
          return { services: p.items, nextPageToken: p.nextPageToken };
        },
        ListSkus(req) {
          const id = String(req.parent).replace(/^services\//, '');
          if (!st.services.some((s) => s.serviceId === id)) throw errors.notFound(`Service not found: ${String(req.parent)}`);
          const currency = typeof req.currencyCode === 'string' && req.currencyCode ? req.currencyCode : 'USD';
          if (currency !== 'USD') throw errors.invalidArgument(`Currency ${currency} is not supported by this sandbox (USD only).`);
          const p = page(st.skus[id] ?? [], req.pageSize, req.pageToken);
          return { skus: p.items, nextPageToken: p.nextPageToken };
        },
      },
    });
  },
};

export default cloudbilling;
