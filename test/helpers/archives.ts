// Archives for tests, including hostile ones: tar entries of any type and
// name (tar-stream), and zips written by hand so headers can lie.
import * as tar from "tar-stream";
import { deflateRawSync, gzipSync } from "node:zlib";

export interface TarEntry {
  name: string;
  data?: string | Uint8Array;
  type?: "file" | "directory" | "symlink" | "link";
  linkname?: string;
}

export async function makeTar(entries: TarEntry[]): Promise<Uint8Array> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  pack.on("data", (c) => void out.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on("end", () => r()));
  for (const e of entries) {
    const data = Buffer.from(e.data ?? "");
    await new Promise<void>((res, rej) =>
      pack.entry({ name: e.name, type: e.type ?? "file", linkname: e.linkname, size: data.length }, data, (err) =>
        err ? rej(err) : res(),
      ),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(out);
}

export async function makeTarGz(entries: TarEntry[]): Promise<Uint8Array> {
  return gzipSync(await makeTar(entries));
}

export interface ZipEntry {
  name: string;
  data?: string | Uint8Array;
  deflate?: boolean;
  /** Claim this uncompressed size in the headers (a lying zip bomb). */
  declaredSize?: number;
  /** Unix mode in the external attributes (0o120777 for a symlink). */
  mode?: number;
}

export function makeZip(entries: ZipEntry[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const raw = Buffer.from(e.data ?? "");
    const body = e.deflate ? deflateRawSync(raw) : raw;
    const name = Buffer.from(e.name, "utf8");
    const crc = Bun.hash.crc32(raw);
    const size = e.declaredSize ?? raw.length;
    const method = e.deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x0314, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
