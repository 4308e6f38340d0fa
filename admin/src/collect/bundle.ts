// What `support collect` checks of the bundle it received before keeping it: a
// gzip'd tar whose every entry is a plain file or folder under the bundle's
// directory, and a manifest that says what each part is. It is never unpacked
// here: the bytes go to the one file the engineer chose, and this only reads
// them, so a lying device or server cannot make anything land elsewhere. Pure.
import { gunzipSync } from "node:zlib";
import { z } from "zod";
import { BUNDLE_DIR } from "./collect-script";

/** A bundle unpacks to at most this much: beyond, it is refused as hostile. */
export const MAX_BUNDLE_UNPACKED_BYTES = 256 * 1024 * 1024;

const partSchema = z
  .object({
    part: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
    file: z.string().regex(/^[a-z][a-z0-9-]{0,31}\.txt$/),
    command: z.string().max(4096),
    exitCode: z.number().int().min(0).max(255),
    timedOut: z.boolean(),
    bytes: z.number().int().nonnegative(),
    truncated: z.boolean(),
    seconds: z.number().int().nonnegative(),
  })
  .strict();

export const manifestSchema = z
  .object({
    version: z.number().int().positive(),
    host: z.string().max(255),
    collectedAt: z.string().max(64),
    parts: z.array(partSchema).max(100),
    skipped: z.array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/)).max(100),
  })
  .strict();
export type BundleManifest = z.infer<typeof manifestSchema>;

export class BundleError extends Error {
  override name = "BundleError";
}

export interface TarEntry {
  name: string;
  type: "file" | "dir";
  size: number;
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString("utf8");
}

/** Entries of a ustar archive, refusing any that is not a plain file or folder inside BUNDLE_DIR. */
export function listTar(tar: Buffer): { entries: TarEntry[]; files: Map<string, Buffer> } {
  const entries: TarEntry[] = [];
  const files = new Map<string, Buffer>();
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const prefix = field(header, 345, 155);
    const name = (prefix ? `${prefix}/` : "") + field(header, 0, 100);
    const sizeText = field(header, 124, 12).trim();
    if (!/^[0-7]+$/.test(sizeText))
      throw new BundleError(`a tar entry has a bad size: ${JSON.stringify(name)}`);
    const size = parseInt(sizeText, 8);
    const flag = String.fromCharCode(header[156]!);
    const type = flag === "0" || flag === "\0" ? "file" : flag === "5" ? "dir" : null;
    if (type === null)
      throw new BundleError(
        `the bundle holds something that is not a file or folder: ${JSON.stringify(name)}`,
      );
    const clean = name.replace(/\/$/, "");
    if (
      !(clean === BUNDLE_DIR || clean.startsWith(`${BUNDLE_DIR}/`)) ||
      clean.split("/").some((p) => p === ".." || p === "." || p === "")
    )
      throw new BundleError(
        `the bundle holds a path outside ${BUNDLE_DIR}/: ${JSON.stringify(name)}`,
      );
    const dataStart = offset + 512;
    if (dataStart + size > tar.length)
      throw new BundleError(`the bundle is cut short in ${JSON.stringify(name)}`);
    entries.push({ name: clean, type, size });
    if (type === "file") files.set(clean, tar.subarray(dataStart, dataStart + size));
    offset = dataStart + Math.ceil(size / 512) * 512;
  }
  return { entries, files };
}

/** The bundle's manifest and entries; BundleError when it is not a bundle this CLI's script makes. */
export function readBundle(gz: Buffer): { manifest: BundleManifest; entries: TarEntry[] } {
  let tar: Buffer;
  try {
    tar = gunzipSync(gz, { maxOutputLength: MAX_BUNDLE_UNPACKED_BYTES });
  } catch (err) {
    throw new BundleError(`the bundle is not a readable .tar.gz: ${(err as Error).message}`);
  }
  const { entries, files } = listTar(tar);
  const raw = files.get(`${BUNDLE_DIR}/manifest.json`);
  if (!raw) throw new BundleError("the bundle has no manifest.json");
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new BundleError("the bundle's manifest.json is not JSON");
  }
  const manifest = manifestSchema.safeParse(parsed);
  if (!manifest.success)
    throw new BundleError(
      `the bundle's manifest.json is not one: ${manifest.error.issues[0]!.message}`,
    );
  for (const p of manifest.data.parts)
    if (!files.has(`${BUNDLE_DIR}/${p.file}`))
      throw new BundleError(`the manifest names ${p.file}, which the bundle lacks`);
  return { manifest: manifest.data, entries };
}
