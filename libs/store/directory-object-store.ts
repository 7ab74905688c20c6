import { createHash, randomUUID } from "node:crypto";
import { link, mkdir, open, readdir, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { alreadyExists, internal, notFound } from "../errors/index.js";
import { chunksOf } from "./object-source.js";
import type { ObjectInfo, ObjectStore } from "./object-store.js";
import { plainBytes } from "./plain-bytes.js";
import { Sha256Check } from "./sha256-check.js";
import { validateObjectName } from "./validate-object-name.js";

/**
 * Each object is one file: a fixed-size JSON header ({name, size, sha256},
 * space-padded) and then the content. One file means one rename publishes
 * content and metadata together, so a reader never sees one without the
 * other. Files are named by the hash of the object name, which keeps any
 * valid name a safe, short file name.
 */
const headerBytes = 512;
const readChunkBytes = 256 * 1024;
const tmpPrefix = ".tmp-";
/** A temp file this old belongs to a writer that died; younger ones may be in use by another process. */
const staleTmpMs = 60 * 60 * 1000;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

async function readHeader(fh: FileHandle, name: string): Promise<ObjectInfo> {
  const buf = Buffer.alloc(headerBytes);
  const { bytesRead } = await fh.read(buf, 0, headerBytes, 0);
  try {
    if (bytesRead !== headerBytes) throw new Error(`header is ${bytesRead} bytes`);
    const parsed = JSON.parse(buf.toString("utf8").trimEnd()) as Partial<ObjectInfo>;
    if (typeof parsed.size !== "number" || typeof parsed.sha256 !== "string") throw new Error("header lacks size or sha256");
    return { name, size: parsed.size, sha256: parsed.sha256 };
  } catch (err) {
    throw internal(`object "${name}" has an unreadable header in the embedded store; put it again`, err);
  }
}

/** The embedded ObjectStore: files in `dir` (created when missing). */
export async function openDirectoryObjectStore(dir: string): Promise<ObjectStore> {
  await mkdir(dir, { recursive: true });
  await removeStaleTempFiles(dir);
  const pathOf = (name: string) => join(dir, createHash("sha256").update(name).digest("hex"));

  async function openObject(name: string): Promise<{ fh: FileHandle; info: ObjectInfo } | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(pathOf(name), "r");
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      return { fh, info: await readHeader(fh, name) };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async function info(name: string): Promise<ObjectInfo | undefined> {
    validateObjectName(name);
    const opened = await openObject(name);
    if (opened === undefined) return undefined;
    await opened.fh.close();
    return opened.info;
  }

  return {
    async put(name, source) {
      validateObjectName(name);
      const tmp = join(dir, `${tmpPrefix}${randomUUID()}`);
      const fh = await open(tmp, "wx");
      let published = false;
      try {
        const hash = createHash("sha256");
        let size = 0;
        for await (const chunk of chunksOf(source)) {
          hash.update(chunk);
          await fh.write(chunk, 0, chunk.byteLength, headerBytes + size);
          size += chunk.byteLength;
        }
        const stored: ObjectInfo = { name, size, sha256: hash.digest("hex") };
        const header = Buffer.alloc(headerBytes, " ");
        header.write(JSON.stringify(stored) + "\n", "utf8");
        await fh.write(header, 0, headerBytes, 0);
        await fh.sync();
        await fh.close();
        // The rename is the commit point: before it, readers see the old object or none.
        await rename(tmp, pathOf(name));
        published = true;
        return stored;
      } finally {
        if (!published) {
          await fh.close().catch(() => {});
          await unlink(tmp).catch(() => {});
        }
      }
    },

    async get(name) {
      validateObjectName(name);
      const opened = await openObject(name);
      if (opened === undefined) return undefined;
      const { fh, info: stored } = opened;
      // Reading from the already-open file gives a consistent snapshot even
      // if the object is replaced or deleted meanwhile.
      return (async function* () {
        try {
          const check = new Sha256Check(name, stored);
          let position = headerBytes;
          for (;;) {
            const buf = Buffer.allocUnsafe(readChunkBytes);
            const { bytesRead } = await fh.read(buf, 0, readChunkBytes, position);
            if (bytesRead === 0) break;
            position += bytesRead;
            const chunk = buf.subarray(0, bytesRead);
            check.update(chunk);
            yield plainBytes(chunk);
          }
          check.verify();
        } finally {
          await fh.close();
        }
      })();
    },

    info,

    async has(name) {
      return (await info(name)) !== undefined;
    },

    async rename(from, to) {
      validateObjectName(from);
      validateObjectName(to);
      const stored = await info(from);
      if (stored === undefined) throw notFound(`object "${from}" does not exist`);
      try {
        // link() refuses an existing target, so a concurrent rename cannot replace it.
        await link(pathOf(from), pathOf(to));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") throw alreadyExists(`object "${to}" already exists`);
        if (isMissing(err)) throw notFound(`object "${from}" does not exist`);
        throw err;
      }
      await unlink(pathOf(from)).catch((err: unknown) => {
        if (!isMissing(err)) throw err;
      });
      return { ...stored, name: to };
    },
    async delete(name) {
      validateObjectName(name);
      try {
        await unlink(pathOf(name));
        return true;
      } catch (err) {
        if (isMissing(err)) return false;
        throw err;
      }
    },
  };
}

async function removeStaleTempFiles(dir: string): Promise<void> {
  const now = Date.now();
  for (const entry of await readdir(dir)) {
    if (!entry.startsWith(tmpPrefix)) continue;
    const path = join(dir, entry);
    try {
      if (now - (await stat(path)).mtimeMs > staleTmpMs) await unlink(path);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
}
