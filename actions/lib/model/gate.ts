/**
 * What may leave the private side. Two checks, both before any byte moves:
 * - the data-class gate: the producing run's `mlabs.data_class` tag (public, internal, sensitive);
 *   a model trained on sensitive data moves only when its version carries `mlabs.deidentified=true`
 *   with who (`mlabs.deidentified_by`) and when (`mlabs.deidentified_at`);
 * - the file kinds: model files only (weights, configs, tokenizers, adapters, model cards); anything
 *   shaped like data is refused by name unless an `allow` pattern lists it.
 */
import { ActionError } from '../errors.js';

export const DATA_CLASSES = ['public', 'internal', 'sensitive'] as const;
export type DataClass = (typeof DATA_CLASSES)[number];

export const TAG_DATA_CLASS = 'mlabs.data_class';
export const TAG_DEIDENTIFIED = 'mlabs.deidentified';
export const TAG_DEIDENTIFIED_BY = 'mlabs.deidentified_by';
export const TAG_DEIDENTIFIED_AT = 'mlabs.deidentified_at';
export const TAG_PROMOTED = 'mlabs.promoted';

export interface GateDecision {
  dataClass: DataClass;
  /** Where the data class came from: the run's tag, or the data_class input for an s3:// source. */
  evidence: string;
  deidentified?: { by: string; at: string };
}

function setTagFix(model: string, version: string, key: string, value: string): string {
  return (
    `curl -X POST "$MLFLOW_TRACKING_URI/api/2.0/mlflow/model-versions/set-tag" -H 'content-type: application/json' ` +
    `-d '{"name":"${model}","version":"${version}","key":"${key}","value":"${value}"}' ` +
    `(or MlflowClient().set_model_version_tag("${model}", "${version}", "${key}", "${value}"))`
  );
}

/** The gate for a registered model version: the run's tags and the version's tags decide. */
export function gateModelVersion(model: string, version: string, runId: string, runTags: Record<string, string>, versionTags: Record<string, string>): GateDecision {
  const raw = runTags[TAG_DATA_CLASS];
  if (raw === undefined || raw === '') {
    throw new ActionError(`Refused: run ${runId}, which produced ${model} version ${version}, has no ${TAG_DATA_CLASS} tag, so what it was trained on is unknown. Nothing was copied.`, {
      fix: `Tag the training run with what it was trained on (public, internal or sensitive): mlflow.set_tag("${TAG_DATA_CLASS}", "sensitive") in the training code, or MlflowClient().set_tag("${runId}", "${TAG_DATA_CLASS}", "...").`,
    });
  }
  const dataClass = DATA_CLASSES.find((c) => c === raw.trim().toLowerCase());
  if (!dataClass) {
    throw new ActionError(`Refused: run ${runId} has ${TAG_DATA_CLASS}=${JSON.stringify(raw)}, which is not one of ${DATA_CLASSES.join(', ')}. Nothing was copied.`, {
      fix: `Set ${TAG_DATA_CLASS} on the run to public, internal or sensitive.`,
    });
  }
  const evidence = `run ${runId} tag ${TAG_DATA_CLASS}=${raw}`;
  if (dataClass !== 'sensitive') return { dataClass, evidence };
  const flag = versionTags[TAG_DEIDENTIFIED];
  if (flag !== 'true') {
    throw new ActionError(
      `Refused: ${model} version ${version} was trained on sensitive data (${evidence}) and does not carry ${TAG_DEIDENTIFIED}=true` +
        `${flag === undefined ? '' : ` (it has ${TAG_DEIDENTIFIED}=${JSON.stringify(flag)})`}. Nothing was copied.`,
      {
        fix: `Once the model has been reviewed as de-identified, tag the version with ${TAG_DEIDENTIFIED}=true, ${TAG_DEIDENTIFIED_BY}=<who reviewed it> and ${TAG_DEIDENTIFIED_AT}=<ISO date>: ${setTagFix(model, version, TAG_DEIDENTIFIED, 'true')}.`,
      },
    );
  }
  const by = versionTags[TAG_DEIDENTIFIED_BY]?.trim() ?? '';
  const at = versionTags[TAG_DEIDENTIFIED_AT]?.trim() ?? '';
  const missing = [!by && TAG_DEIDENTIFIED_BY, !at && TAG_DEIDENTIFIED_AT].filter(Boolean) as string[];
  if (missing.length) {
    throw new ActionError(`Refused: ${model} version ${version} carries ${TAG_DEIDENTIFIED}=true but not ${missing.join(' or ')}: who de-identified it and when must be on record. Nothing was copied.`, {
      fix: `Set ${missing.join(' and ')} on the version: ${setTagFix(model, version, missing[0] as string, missing[0] === TAG_DEIDENTIFIED_AT ? '2025-06-03T09:30:00Z' : 'reviewer@example.org')}.`,
    });
  }
  if (Number.isNaN(Date.parse(at))) {
    throw new ActionError(`Refused: ${model} version ${version} has ${TAG_DEIDENTIFIED_AT}=${JSON.stringify(at)}, which is not a date. Nothing was copied.`, {
      fix: `Set ${TAG_DEIDENTIFIED_AT} to an ISO 8601 date, e.g. 2025-06-03T09:30:00Z.`,
    });
  }
  return { dataClass, evidence: `${evidence}; version tag ${TAG_DEIDENTIFIED}=true`, deidentified: { by, at } };
}

/** The gate for a bare s3:// source: no run to read, so the data_class input is the evidence; sensitive never moves this way. */
export function gateS3Source(uri: string, dataClass: DataClass | ''): GateDecision {
  if (!dataClass) {
    throw new ActionError(`Refused: ${uri} is not a registered model version, so no run says what it was trained on. Nothing was copied.`, {
      fix: 'Promote it as models:/NAME/VERSION from the MLflow registry, or say what it was trained on with the data_class input (public or internal).',
    });
  }
  if (dataClass === 'sensitive') {
    throw new ActionError(`Refused: ${uri} is declared sensitive, and a sensitive model moves only as a registered version tagged ${TAG_DEIDENTIFIED}=true with who and when. Nothing was copied.`, {
      fix: `Register the model in MLflow and tag the version ${TAG_DEIDENTIFIED}=true, ${TAG_DEIDENTIFIED_BY}, ${TAG_DEIDENTIFIED_AT}; then promote models:/NAME/VERSION.`,
    });
  }
  return { dataClass, evidence: `data_class input (${dataClass}) for an s3:// source` };
}

/** Model file kinds, by extension (or whole name for files that have none). */
export const MODEL_EXTENSIONS = ['safetensors', 'bin', 'pt', 'pth', 'gguf', 'onnx', 'json', 'txt', 'md', 'model', 'tiktoken', 'yaml', 'yml', 'jinja', 'py'] as const;
const MODEL_NAMES = new Set(['MLmodel', 'LICENSE', 'NOTICE', 'README', 'vocab', 'merges']);
/** Data-shaped kinds: refused by name. */
export const DATA_EXTENSIONS = ['parquet', 'csv', 'tsv', 'jsonl', 'ndjson', 'arrow', 'feather', 'tfrecord', 'tfrecords', 'avro', 'orc', 'npy', 'npz', 'pkl', 'pickle', 'h5', 'hdf5', 'db', 'sqlite', 'xlsx'] as const;
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif', 'bmp', 'tif', 'tiff', 'webp', 'dcm'] as const;
/** A model card may show a few figures; more images than this is a data set. */
export const MAX_IMAGES = 4;

/** A glob (`*` within a path segment, `**` across them, `?`) as a regular expression on the relative path. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const extOf = (path: string): string => {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
};

export interface FileVerdict {
  path: string;
  allowed: boolean;
  reason: string;
}

/** Every file's verdict; throws one error naming every refused file, before anything is copied. */
export function checkFileKinds(paths: string[], allow: string[]): FileVerdict[] {
  const allowRe = allow.map(globToRegExp);
  const images = paths.filter((p) => (IMAGE_EXTENSIONS as readonly string[]).includes(extOf(p)));
  const verdicts = paths.map((path): FileVerdict => {
    if (allowRe.some((r) => r.test(path))) return { path, allowed: true, reason: 'listed by allow' };
    const ext = extOf(path);
    const base = path.slice(path.lastIndexOf('/') + 1);
    if ((DATA_EXTENSIONS as readonly string[]).includes(ext)) return { path, allowed: false, reason: `.${ext} is a data file` };
    if ((IMAGE_EXTENSIONS as readonly string[]).includes(ext)) {
      return images.length > MAX_IMAGES ? { path, allowed: false, reason: `one of ${images.length} images (more than ${MAX_IMAGES} is a data set)` } : { path, allowed: true, reason: 'model-card figure' };
    }
    if ((MODEL_EXTENSIONS as readonly string[]).includes(ext) || MODEL_NAMES.has(base) || MODEL_NAMES.has(base.replace(/\.[^.]*$/, ''))) return { path, allowed: true, reason: 'model file' };
    return { path, allowed: false, reason: ext ? `.${ext} is not a model file kind` : 'no extension; not a known model file' };
  });
  const refused = verdicts.filter((v) => !v.allowed);
  if (refused.length) {
    const shown = refused.slice(0, 20).map((v) => `${v.path} (${v.reason})`);
    throw new ActionError(
      `Refused: ${refused.length} file${refused.length === 1 ? '' : 's'} in the model's artifacts ${refused.length === 1 ? 'is' : 'are'} not model files: ${shown.join(', ')}${refused.length > 20 ? `, and ${refused.length - 20} more` : ''}. Nothing was copied.`,
      {
        fix: `Only weights, configs, tokenizers, adapters and model cards move (${MODEL_EXTENSIONS.join(', ')}). Remove data from the model's artifacts, or, if a file really is part of the model, list it in the allow input (a glob on its path, e.g. allow: ${refused[0]?.path}).`,
      },
    );
  }
  return verdicts;
}
