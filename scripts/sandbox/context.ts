// What an API module receives. See README.md ("Writing an API module").
import type { EventEmitter } from 'node:events';
import type { BindOptions } from './contracts.js';
import type * as errors from './errors.js';
import type { FaultInjector } from './faults.js';
import type { OperationEngine } from './operations.js';
import type { QuotaLedger } from './quota.js';
import type { Router } from './router.js';
import type { StateStore } from './state.js';
import type { TokenRegistry } from './tokens.js';
import type { loadContract, readMessage, writeMessage, missingRequired } from './contracts.js';

export interface SandboxContext {
  /** http://127.0.0.1:PORT (no trailing slash). */
  baseUrl: string;
  port: number;
  /** Default project (CLOUDSDK_CORE_PROJECT) and its number. */
  project: { projectId: string; projectNumber: string; region: string };
  /** Raw routes (hand-modelled APIs such as GCS, GitHub, Kubernetes). */
  router: Router;
  /** Routes from Google's contracts: bind(opts) registers every REST binding of the RPCs you handle. */
  contracts: {
    bind(opts: BindOptions): void;
    load: typeof loadContract;
    readMessage: typeof readMessage;
    writeMessage: typeof writeMessage;
    missingRequired: typeof missingRequired;
  };
  /** GoogleError and helpers (throw them from handlers). */
  errors: typeof errors;
  tokens: TokenRegistry;
  faults: FaultInjector;
  state: StateStore;
  operations: OperationEngine;
  quota: QuotaLedger;
  /** Cross-module events, e.g. 'container.nodePool' (see README). */
  events: EventEmitter;
  /** Services modules expose to each other by name (e.g. 'container' exposes node counts). */
  services: Map<string, unknown>;
  /** Register cleanup for stop(). */
  onStop(fn: () => void | Promise<void>): void;
  /**
   * A second loopback port whose every request is served by the main router with `prefix` put in
   * front of its path (an API that must own a host's root, e.g. a registry's `/v2/`). Closed on stop.
   */
  mount(prefix: string): Promise<{ host: string; url: string }>;
  /** Add a variable to `sb.env` (and the CLI's export lines). */
  addEnv(name: string, value: string): void;
  /** Variables this module adds to `sb.env` (and `npm run sandbox`'s export lines), e.g. an S3 endpoint on its own port. */
  exportEnv(vars: Record<string, string>): void;
}

export interface ApiModule {
  /** Short id, also the path prefix and the CLOUDSDK_API_ENDPOINT_OVERRIDES_<ID> suffix when it has one. */
  id: string;
  register(ctx: SandboxContext): void | Promise<void>;
}
