/**
 * The Cloud Storage calls snapshots need, on the suite's storage client (google/storage.ts):
 * read an object's text with its generation, write with an `ifGenerationMatch` precondition
 * (0 = must not exist), and whether a bucket exists.
 */
import { apiUrl } from '../endpoints.js';
import { ApiError, requestJson } from '../http.js';
import { getAccessToken } from '../google/auth.js';
import { downloadText, getObject, isPreconditionFailed, upload } from '../google/storage.js';

export { isPreconditionFailed };

export interface StoredObject {
  bucket: string;
  name: string;
  generation: string;
  text: string;
}

/** The object's text and generation, or undefined when it does not exist (a missing bucket throws). */
export async function readObject(bucket: string, name: string): Promise<StoredObject | undefined> {
  const meta = await getObject(bucket, name);
  if (!meta) return undefined;
  try {
    return { bucket, name, generation: meta.generation, text: await downloadText(bucket, name, { generation: meta.generation }) };
  } catch (err) {
    // Replaced between the two calls: read the live one.
    if (err instanceof ApiError && err.httpStatus === 404) return readObject(bucket, name);
    throw err;
  }
}

/** Write `text`; `ifGenerationMatch` '0' means "only if absent". Returns the new generation; a lost race throws (isPreconditionFailed). */
export async function writeObject(bucket: string, name: string, text: string, ifGenerationMatch?: string): Promise<string> {
  const obj = await upload(bucket, name, text, { contentType: 'application/json', ifGenerationMatch });
  return obj.generation;
}

/** Whether the bucket exists (buckets.get; 404 → false). */
export async function bucketExists(bucket: string): Promise<boolean> {
  const token = await getAccessToken();
  try {
    await requestJson(apiUrl('storage', `b/${encodeURIComponent(bucket)}`), { token });
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.httpStatus === 404) return false;
    throw err;
  }
}
