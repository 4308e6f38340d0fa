// A file replaced whole or not at all: written to a temp file beside it, then
// renamed into place, so a reader (another process, the next boot) sees the old
// text or the new, never half. What write-file-atomic did for the device,
// without the modules (graceful-fs, signal-exit) an idle agent would carry.
import * as fs from "node:fs/promises";

let tempCount = 0;

export interface AtomicWriteOptions {
  /** The file's mode, whatever the umask. */
  mode: number;
  /** Sync the text to disk before the rename (default), so a power cut leaves one of the two. */
  fsync?: boolean;
}

/**
 * Writes `text` to `file` atomically. The temp file is `<file>.<pid>.<hex>`:
 * a dot and a suffix, so neither the state store's record listing nor sudo's
 * includedir ever takes it for the real file.
 */
export async function writeFileAtomic(
  file: string,
  text: string,
  options: AtomicWriteOptions,
): Promise<void> {
  // Unique without node:crypto (which an idle agent does not load): this
  // process's pid and a count; "wx" refuses a leftover of the same name.
  const temp = `${file}.${process.pid}.${(tempCount++).toString(16)}`;
  try {
    const handle = await fs.open(temp, "wx", options.mode);
    try {
      await handle.chmod(options.mode);
      await handle.writeFile(text, "utf8");
      if (options.fsync !== false) await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}
