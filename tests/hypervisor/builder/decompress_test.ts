import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import fc from "fast-check";
import {
  type CompressionFormat,
  decompress,
  DecompressError,
  detectCompression,
} from "../../../lib/hypervisor/builder/decompress.ts";
import { crc32, crc64 } from "../../../lib/hypervisor/builder/decompress/crc.ts";
import { bcjX86Decode } from "../../../lib/hypervisor/builder/decompress/bcj_x86.ts";
import { compressWith, sampleData, toolAvailable } from "./_compress.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const FORMAT: Record<string, CompressionFormat> = {
  gzip: "gzip",
  bzip2: "bzip2",
  lzma: "lzma",
  xz: "xz",
  "xz-crc64": "xz",
  "xz-none": "xz",
  lz4: "lz4",
  zstd: "zstd",
};
const ELF_LIKE = (() => {
  // real machine code makes the x86 BCJ filter do real work
  try {
    return Deno.readFileSync("/bin/ls");
  } catch {
    return sampleData(150_000, 7);
  }
})();

for (const kind of Object.keys(FORMAT)) {
  const ignore = !toolAvailable(kind);
  if (ignore) console.warn(`skipped: ${kind} compressor not installed (see .ci/apt.d/inspect.txt)`);
  Deno.test(
    { name: `decompress() restores ${kind} data made by the host tool`, ignore },
    async () => {
      for (const [label, data] of [["sample", sampleData(300_000)], ["ELF", ELF_LIKE]] as const) {
        const packed = await compressWith(kind, data);
        if (!packed) throw new Error("compressor vanished");
        strictEqual(detectCompression(packed), FORMAT[kind], `${label}: detected format`);
        const out = decompress(packed, FORMAT[kind]);
        strictEqual(out.length, data.length, `${label}: size`);
        ok(out.every((b, i) => b === data[i]), `${label}: bytes`);
      }
    },
  );

  Deno.test({ name: `decompress() rejects a ${kind} bomb beyond maxOutput`, ignore }, async () => {
    const zeros = new Uint8Array(4 << 20);
    const packed = await compressWith(kind, zeros);
    if (!packed) throw new Error("compressor vanished");
    throws(() => decompress(packed, FORMAT[kind], { maxOutput: 1 << 20 }), (e: unknown) => {
      ok(e instanceof DecompressError, String(e));
      ok(/limit|size|large/.test((e as Error).message), (e as Error).message);
      return true;
    });
  });

  Deno.test(
    { name: `decompress() fails cleanly on truncated or flipped ${kind} data`, ignore },
    async () => {
      const data = sampleData(40_000, 3);
      const packed = await compressWith(kind, data);
      if (!packed) throw new Error("compressor vanished");
      const runs = FULL ? 3000 : 300;
      fc.assert(
        fc.property(
          fc.nat(packed.length - 1),
          fc.nat(packed.length - 1),
          fc.integer({ min: 1, max: 255 }),
          fc.boolean(),
          (cut, pos, xor, truncate) => {
            const bad = truncate ? packed.slice(0, cut) : packed.slice();
            if (!truncate) bad[pos] ^= xor;
            try {
              const out = decompress(bad, FORMAT[kind], { maxOutput: 1 << 20 });
              // a flip in an unchecked spot may still decode; the size stays bounded
              return out.length <= 1 << 20;
            } catch (e) {
              return e instanceof DecompressError;
            }
          },
        ),
        { numRuns: runs, seed: 42 },
      );
    },
  );
}

Deno.test("decompress() never throws anything but DecompressError on random bytes after a magic", () => {
  const magics: [CompressionFormat, number[]][] = [
    ["gzip", [0x1f, 0x8b, 8, 0]],
    ["bzip2", [0x42, 0x5a, 0x68, 0x39]],
    ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]],
    ["lz4", [0x02, 0x21, 0x4c, 0x18]],
    ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
    ["lzma", [0x5d, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
  ];
  fc.assert(
    fc.property(
      fc.constantFrom(...magics),
      fc.uint8Array({ maxLength: 2000 }),
      ([fmt, magic], rest) => {
        try {
          decompress(new Uint8Array([...magic, ...rest]), fmt, { maxOutput: 1 << 20 });
          return true;
        } catch (e) {
          return e instanceof DecompressError;
        }
      },
    ),
    { numRuns: FULL ? 20000 : 2000, seed: 7 },
  );
});

Deno.test("decompress() reports lzo as unsupported", () => {
  throws(() => decompress(new Uint8Array([0x89, 0x4c, 0x5a, 0x4f, 0]), "lzo"), /lzo/);
});

Deno.test("detectCompression() returns null for an ELF and for short input", () => {
  strictEqual(detectCompression(new Uint8Array([0x7f, 0x45, 0x4c, 0x46])), null);
  strictEqual(detectCompression(new Uint8Array([0x1f])), null);
});

Deno.test("crc32() and crc64() match the standard check values", () => {
  const s = new TextEncoder().encode("123456789");
  strictEqual(crc32(s), 0xcbf43926);
  strictEqual(crc64(s), 0x995dc9bbdf1939fan);
});

Deno.test("bcjX86Decode() converts an absolute call target back to relative", () => {
  // at offset 16: E8 with absolute target 0x1015 (encoder: rel 0x1000 + 16 + 5)
  const b = new Uint8Array(32);
  b.set([0xe8, 0x15, 0x10, 0x00, 0x00], 16);
  bcjX86Decode(b);
  deepStrictEqual([...b.subarray(16, 21)], [0xe8, 0x00, 0x10, 0x00, 0x00]);
  // an operand whose top byte is not 00/FF is left alone
  const c = new Uint8Array(32);
  c.set([0xe8, 1, 2, 3, 0x42], 8);
  bcjX86Decode(c);
  deepStrictEqual([...c.subarray(8, 13)], [0xe8, 1, 2, 3, 0x42]);
});

/** Runs a host tool with arguments on `data` and returns its stdout. */
async function run(cmd: string, args: string[], data: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "null" })
    .spawn();
  const w = child.stdin.getWriter();
  const out = child.output();
  await w.write(data);
  await w.close();
  return (await out).stdout;
}

const XZ_VARIANTS: [string, string[]][] = [
  ["xz", ["--lzma2=preset=6,lc=0,lp=4,pb=4", "-c"]],
  ["xz", ["--lzma2=lc=4,lp=0,pb=0", "-c"]],
  ["xz", ["--block-size=50000", "--x86", "--lzma2=preset=1", "-c"]],
  ["xz", ["--check=sha256", "-c"]],
  ["lzma", ["--lzma1=preset=3,lc=0,lp=2,pb=1", "-c"]],
  ["lzma", ["--lzma1=lc=1,lp=3,pb=4", "-c"]],
];

Deno.test({
  name:
    "decompress() restores xz/lzma data made with other lc/lp/pb, blocks, checks and stored chunks",
  ignore: !toolAvailable("xz"),
}, async (t) => {
  // half compressible, half random (LZMA2 stores incompressible chunks uncompressed)
  const random = crypto.getRandomValues(new Uint8Array(65536));
  const data = new Uint8Array([
    ...sampleData(120_000, 11),
    ...random,
    ...ELF_LIKE.subarray(0, 50_000),
  ]);
  for (const [cmd, args] of XZ_VARIANTS) {
    await t.step(`${cmd} ${args.join(" ")}`, async () => {
      const packed = await run(cmd, args, data);
      const fmt = cmd === "xz" ? "xz" : "lzma";
      const out = decompress(packed, fmt);
      strictEqual(out.length, data.length);
      ok(out.every((b, i) => b === data[i]));
    });
  }
  await t.step("two concatenated xz streams with stream padding", async () => {
    const a = await run("xz", ["-c"], data.subarray(0, 70_000));
    const b = await run("xz", ["--x86", "--lzma2", "-c"], data.subarray(70_000));
    const out = decompress(new Uint8Array([...a, 0, 0, 0, 0, ...b]), "xz");
    strictEqual(out.length, data.length);
    ok(out.every((x, i) => x === data[i]));
  });
});
