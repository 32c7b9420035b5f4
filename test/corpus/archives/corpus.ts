// The hostile archive corpus: each entry is made by code (small, readable, and
// free to vary), with the answer the server must give. A zip's end record,
// central directory and local headers are patched after makeZip writes an
// honest archive, so every lie is one visible change.
import { gzipSync } from "node:zlib";
import { makeTar, makeZip, type ZipEntry } from "../../helpers/archives.ts";

export interface CorpusEntry {
  name: string;
  /** What the attack is. */
  about: string;
  bytes(): Promise<Uint8Array> | Uint8Array;
  status: number;
  code: string;
}

const page: ZipEntry = { name: "index.html", data: "<h1>hostile</h1>" };

/** The end-of-central-directory record of a zip without a comment. */
function eocd(zip: Buffer): number {
  return zip.length - 22;
}

function centralDirectory(zip: Buffer): number {
  return zip.readUInt32LE(eocd(zip) + 16);
}

function patchZip(entries: ZipEntry[], patch: (zip: Buffer) => void): Uint8Array {
  const zip = Buffer.from(makeZip(entries));
  patch(zip);
  return zip;
}

function setEntryCount(zip: Buffer, n: number): void {
  zip.writeUInt16LE(n, eocd(zip) + 8);
  zip.writeUInt16LE(n, eocd(zip) + 10);
}

/** A zip with a ZIP64 end record and locator whose numbers are given. */
function zip64(opts: { entries: bigint; directoryOffset?: bigint; locatorOffset?: bigint }): Uint8Array {
  const zip = Buffer.from(makeZip([page]));
  const end = eocd(zip);
  const cd = centralDirectory(zip);
  const cdSize = zip.readUInt32LE(end + 12);
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeUInt16LE(45, 12);
  record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(opts.entries, 24);
  record.writeBigUInt64LE(opts.entries, 32);
  record.writeBigUInt64LE(BigInt(cdSize), 40);
  record.writeBigUInt64LE(opts.directoryOffset ?? BigInt(cd), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(opts.locatorOffset ?? BigInt(end), 8);
  locator.writeUInt32LE(1, 16);
  const tail = Buffer.from(zip.subarray(end));
  tail.writeUInt16LE(0xffff, 8);
  tail.writeUInt16LE(0xffff, 10);
  tail.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([zip.subarray(0, end), record, locator, tail]);
}

/** A tar whose first header is rewritten by `patch` (its checksum fixed afterwards unless told not to). */
async function patchTar(patch: (header: Buffer) => void, fixChecksum = true): Promise<Uint8Array> {
  const tar = Buffer.from(await makeTar([{ name: "index.html", data: "<h1>hostile</h1>" }]));
  patch(tar.subarray(0, 512));
  if (fixChecksum) {
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += tar[i]!;
    tar.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  }
  return tar;
}

export const corpus: CorpusEntry[] = [
  // The end record lies about how many entries there are: the reader once spun forever here.
  ...[2, 50, 5000, 65535].map((n) => ({
    name: `zip-eocd-count-${n}`,
    about: `one-file zip whose end record claims ${n} entries`,
    bytes: () => patchZip([page], (z) => setEntryCount(z, n)),
    status: 400,
    code: "invalid_archive",
  })),
  {
    name: "zip-eocd-count-long-names",
    about: "two entries with long names, end record claims three (fits the bound, read past the end)",
    bytes: () =>
      patchZip(
        [
          { name: `${"a".repeat(200)}.html`, data: "a" },
          { name: `${"b".repeat(200)}.html`, data: "b" },
        ],
        (z) => setEntryCount(z, 3),
      ),
    status: 400,
    code: "invalid_archive",
  },
  ...[10, 1, 30].map((back) => ({
    name: `zip-local-header-${back}-before-end`,
    about: `central directory points at a local header ${back} bytes before the end`,
    bytes: () => patchZip([page], (z) => z.writeUInt32LE(z.length - back, centralDirectory(z) + 42)),
    status: 400,
    code: "invalid_archive",
  })),
  {
    name: "zip-local-header-past-end",
    about: "central directory points at a local header past the end",
    bytes: () => patchZip([page], (z) => z.writeUInt32LE(0xfffffff0, centralDirectory(z) + 42)),
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "zip-directory-past-end",
    about: "end record puts the central directory past the end",
    bytes: () => patchZip([page], (z) => z.writeUInt32LE(z.length + 100, eocd(z) + 16)),
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "zip-directory-truncated",
    about: "the central directory is cut short (end record kept, offsets unchanged)",
    bytes: () => {
      const zip = Buffer.from(makeZip([page, { name: "b.html", data: "b" }]));
      const cd = centralDirectory(zip);
      return Buffer.concat([zip.subarray(0, cd + 60), zip.subarray(eocd(zip))]);
    },
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "zip-truncated-body",
    about: "a zip cut in the middle of its data (no end record)",
    bytes: () => makeZip([page, { name: "b.html", data: "b".repeat(5000) }]).subarray(0, 2000),
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "zip-overlapping-entries",
    about: "two directory entries with different names share one local header and data",
    bytes: () =>
      patchZip([page, { name: "indeX.html", data: "<h1>hostile</h1>" }], (z) => {
        const second = centralDirectory(z) + 46 + "index.html".length;
        z.writeUInt32LE(0, second + 42);
      }),
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "zip-compressed-size-lie",
    about: "an entry's compressed size runs into the central directory",
    bytes: () => patchZip([page], (z) => z.writeUInt32LE(z.length, centralDirectory(z) + 20)),
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "zip-huge-declared-size",
    about: "a deflated entry declares 4 GiB uncompressed",
    bytes: () => makeZip([{ ...page, deflate: true, declaredSize: 0xfffffff0 }]),
    status: 413,
    code: "file_too_large",
  },
  {
    name: "zip-crc-flipped-byte",
    about: "one data byte flipped after the CRC-32 was computed",
    bytes: () =>
      patchZip([page], (z) => {
        z[30 + "index.html".length + 4]! ^= 0x01;
      }),
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "zip-crc-flipped-deflated",
    about: "a deflated entry whose stored CRC-32 is wrong",
    bytes: () =>
      patchZip([{ ...page, deflate: true }], (z) => {
        z.writeUInt32LE(0x12345678, 14);
        z.writeUInt32LE(0x12345678, centralDirectory(z) + 16);
      }),
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "zip64-count-huge",
    about: "ZIP64 end record claims 2^40 entries",
    bytes: () => zip64({ entries: 1n << 40n }),
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "zip64-count-5000",
    about: "ZIP64 end record claims 5,000 entries",
    bytes: () => zip64({ entries: 5000n }),
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "zip64-locator-past-end",
    about: "ZIP64 locator points past the end",
    bytes: () => zip64({ entries: 1n, locatorOffset: 1n << 40n }),
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "zip64-directory-past-end",
    about: "ZIP64 end record puts the central directory at 2^50",
    bytes: () => zip64({ entries: 1n, directoryOffset: 1n << 50n }),
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "zip-too-many-entries",
    about: "a real zip of 21 files, one more than --max-files",
    bytes: () => makeZip(Array.from({ length: 21 }, (_, i) => ({ name: `f${i}.html`, data: String(i) }))),
    status: 413,
    code: "too_many_files",
  },
  {
    name: "tar-truncated-data",
    about: "a tar header declares 1000 bytes, 100 follow",
    bytes: async () => {
      const tar = Buffer.from(await makeTar([{ name: "index.html", data: "x".repeat(1000) }]));
      return tar.subarray(0, 512 + 100);
    },
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "tar-bad-checksum",
    about: "a tar header whose checksum is wrong",
    bytes: () => patchTar((h) => (h[0] = 0x4a), false),
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "tar-huge-declared-size",
    about: "a tar header declares 8 GiB (octal 77777777777), no data follows",
    bytes: () => patchTar((h) => h.write("77777777777\0", 124, "latin1")),
    status: 413,
    code: "file_too_large",
  },
  {
    name: "tar-base256-size",
    about: "a tar header declares its size in base-256 (2^62 bytes)",
    bytes: () =>
      patchTar((h) => {
        h.fill(0, 124, 136);
        h[124] = 0x80;
        h[128] = 0x40;
      }),
    status: 413,
    code: "file_too_large",
  },
  {
    name: "tar-gz-truncated",
    about: "a tar.gz cut in the middle of its deflate stream",
    bytes: async () => {
      const gz = gzipSync(await makeTar([{ name: "index.html", data: crypto.getRandomValues(new Uint8Array(20_000)) }]));
      return gz.subarray(0, Math.floor(gz.length / 2));
    },
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "tar-gz-corrupt",
    about: "a tar.gz with bytes of its deflate stream overwritten",
    bytes: async () => {
      const gz = Buffer.from(gzipSync(await makeTar([{ name: "index.html", data: "hello ".repeat(3000) }])));
      gz.fill(0xff, 20, 60);
      return gz;
    },
    status: 400,
    code: "invalid_archive",
  },
  {
    name: "tar-gz-bad-trailer",
    about: "a tar.gz whose gzip CRC-32 trailer is wrong",
    bytes: async () => {
      const gz = Buffer.from(gzipSync(await makeTar([{ name: "index.html", data: "<h1>hostile</h1>" }])));
      gz.writeUInt32LE((gz.readUInt32LE(gz.length - 8) ^ 1) >>> 0, gz.length - 8);
      return gz;
    },
    status: 400,
    code: "invalid_archive",
  },
];
