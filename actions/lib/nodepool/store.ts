/**
 * The Cloud Storage calls snapshots need, on the suite's storage client (google/storage.ts):
 * read an object's text with its generation, write with an `ifGenerationMatch` precondition
 * (0 = must not exist), and whether a bucket exists.
 */
import { isNotFound } from '../http.js';
import { bucketExists, downloadText, findObject, isPreconditionFailed, upload } from '../google/storage.js';

export { bucketExists, isPreconditionFailed };

export interface StoredObject {
  bucket: string;
  name: string;
  generation: string;
  text: string;
}

/** The object's text and generation, or undefined when it does not exist (a missing bucket throws). */
export async function readObject(bucket: string, name: string): Promise<StoredObject | undefined> {
  const meta = await findObject(bucket, name);
  if (!meta) return undefined;
  try {
    return { bucket, name, generation: meta.generation, text: await downloadText(bucket, name, { generation: meta.generation }) };
  } catch (err) {
    // Replaced between the two calls: read the live one.
    if (isNotFound(err)) return readObject(bucket, name);
    throw err;
  }
}

/** Write `text`; `ifGenerationMatch` '0' means "only if absent". Returns the new generation; a lost race throws (isPreconditionFailed). */
export async function writeObject(bucket: string, name: string, text: string, ifGenerationMatch?: string): Promise<string> {
  const obj = await upload(bucket, name, text, { contentType: 'application/json', ifGenerationMatch });
  return obj.generation;
}

