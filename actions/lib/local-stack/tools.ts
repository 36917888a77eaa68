/**
 * The programs the local stack installs on a machine, pinned once for the whole suite: versions,
 * download URLs and per-architecture SHA-256 come from runner-image/versions.json (the file the
 * mlabs-runner image is built from), inlined into the bundle at build time.
 */
import versions from '../../../runner-image/versions.json' with { type: 'json' };
import { pinFromVersions, type ToolPin } from '../tools/install.js';

export const HELM: ToolPin = pinFromVersions('helm', versions.tools.helm, { archiveMember: 'linux-{arch}/helm' });

export const MINIKUBE: ToolPin = pinFromVersions('minikube', versions.tools.minikube);
