/**
 * The few Cloud Storage calls snapshots need: read an object with its generation, write one with
 * an `ifGenerationMatch` precondition (0 = must not exist), list a prefix.
 */
import { apiUrl, storageUploadBase } from '../endpoints.js';
import { ApiError, request, requestJson } from '../http.js';
import { getAccessToken } from '../google/auth.js';

export interface StoredObject {
  bucket: string;
  name: string;
  generation: string;
  text: string;
}

const objectUrl = (bucket: string, name: string) => apiUrl('storage', `b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}`);

/** The object's text and generation, or undefined when it does not exist (a missing bucket throws). */
export async function readObject(bucket: string, name: string): Promise<StoredObject | undefined> {
  const token = await getAccessToken();
  let meta: { generation?: string };
  try {
    meta = await requestJson<{ generation?: string }>(objectUrl(bucket, name), { token });
  } catch (err) {
    if (err instanceof ApiError && err.httpStatus === 404 && !/bucket/i.test(err.message)) return undefined;
    throw err;
  }
  const generation = String(meta.generation ?? '');
  const res = await request(objectUrl(bucket, name), { token, query: { alt: 'media', generation: generation || undefined } });
  return { bucket, name, generation, text: await res.text() };
}

/** Write `text`; `ifGenerationMatch` '0' means "only if absent". Returns the new generation. A lost race is a 412 ApiError. */
export async function writeObject(bucket: string, name: string, text: string, ifGenerationMatch?: string): Promise<string> {
  const token = await getAccessToken();
  const res = await requestJson<{ generation?: string }>(`${storageUploadBase()}b/${encodeURIComponent(bucket)}/o`, {
    method: 'POST',
    token,
    query: { uploadType: 'media', name, ifGenerationMatch },
    headers: { 'content-type': 'application/json' },
    body: text,
  });
  return String(res.generation ?? '');
}

/** Object names under `prefix`. */
export async function listObjects(bucket: string, prefix: string): Promise<string[]> {
  const token = await getAccessToken();
  const names: string[] = [];
  let pageToken: string | undefined;
  do {
    const page = await requestJson<{ items?: Array<{ name: string }>; nextPageToken?: string }>(apiUrl('storage', `b/${encodeURIComponent(bucket)}/o`), {
      token,
      query: { prefix, pageToken },
    });
    names.push(...(page.items ?? []).map((i) => i.name));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return names;
}

/** Whether the bucket exists (404 → false). */
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
