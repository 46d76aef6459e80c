import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import {
  BLKIF_ABI_X86_32,
  BLKIF_ABI_X86_64,
  BLKIF_OP_DISCARD,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  type BlkifAbi,
  blkifAbiByName,
  BlkifRequest,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  indirectPagesFor,
} from "../../lib/blkfront/protocol.ts";

const C_PROGRAM = `
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/blkif.h>
#define P(s, f) printf(#s "." #f " %zu\\n", offsetof(struct s, f))
int main(void) {
  printf("entry %zu\\n", sizeof(union blkif_sring_entry));
  printf("request %zu\\n", sizeof(struct blkif_request));
  printf("response %zu\\n", sizeof(struct blkif_response));
  printf("segment %zu\\n", sizeof(struct blkif_request_segment));
  printf("ring %zu\\n", (size_t)__CONST_RING_SIZE(blkif, 4096));
  P(blkif_request, id); P(blkif_request, sector_number); P(blkif_request, seg);
  P(blkif_request, handle); P(blkif_request, nr_segments);
  P(blkif_request_discard, id); P(blkif_request_discard, sector_number);
  P(blkif_request_discard, nr_sectors); P(blkif_request_discard, flag);
  P(blkif_request_indirect, id); P(blkif_request_indirect, sector_number);
  P(blkif_request_indirect, handle); P(blkif_request_indirect, indirect_grefs);
  P(blkif_request_indirect, nr_segments); P(blkif_request_indirect, indirect_op);
  P(blkif_response, id); P(blkif_response, operation); P(blkif_response, status);
  P(blkif_request_segment, gref); P(blkif_request_segment, first_sect);
  P(blkif_request_segment, last_sect);
  return 0;
}
`;

/** Compiles and runs the offsets program for one ABI; undefined when gcc is missing. */
async function gccLayout(bits: 32 | 64): Promise<Map<string, number> | undefined> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/off.c`, C_PROGRAM);
    const cc = await new Deno.Command("gcc", {
      args: [`-m${bits}`, "-o", `${dir}/off`, `${dir}/off.c`],
      stderr: "piped",
    }).output().catch(() => undefined);
    if (!cc || !cc.success) return undefined;
    const run = await new Deno.Command(`${dir}/off`, { stdout: "piped" }).output();
    const out = new Map<string, number>();
    for (const line of new TextDecoder().decode(run.stdout).trim().split("\n")) {
      const [k, v] = line.split(" ");
      out.set(k, Number(v));
    }
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const [bits, abi] of [[32, BLKIF_ABI_X86_32], [64, BLKIF_ABI_X86_64]] as const) {
  Deno.test(`BLKIF_ABI_X86_${bits} matches gcc -m${bits} offsetof/sizeof of io/blkif.h`, async (t) => {
    const c = await gccLayout(bits);
    if (!c) {
      await t.step({ name: "gcc unavailable: skipped", ignore: true, fn: () => {} });
      return;
    }
    strictEqual(abi.entryBytes, c.get("entry"));
    strictEqual(abi.requestBytes, c.get("request"));
    strictEqual(abi.responseBytes, c.get("response"));
    strictEqual(c.get("segment"), 8);
    strictEqual(c.get("ring"), 32);
    strictEqual(abi.idOff, c.get("blkif_request.id"));
    strictEqual(abi.idOff, c.get("blkif_request_discard.id"));
    strictEqual(abi.idOff, c.get("blkif_request_indirect.id"));
    strictEqual(abi.sectorOff, c.get("blkif_request.sector_number"));
    strictEqual(abi.sectorOff, c.get("blkif_request_discard.sector_number"));
    strictEqual(abi.sectorOff, c.get("blkif_request_indirect.sector_number"));
    strictEqual(abi.segOff, c.get("blkif_request.seg"));
    strictEqual(abi.nrSectorsOff, c.get("blkif_request_discard.nr_sectors"));
    strictEqual(abi.indirectHandleOff, c.get("blkif_request_indirect.handle"));
    strictEqual(abi.indirectGrefsOff, c.get("blkif_request_indirect.indirect_grefs"));
    // The fields the codec places at fixed offsets in both ABIs.
    strictEqual(c.get("blkif_request.nr_segments"), 1);
    strictEqual(c.get("blkif_request.handle"), 2);
    strictEqual(c.get("blkif_request_discard.flag"), 1);
    strictEqual(c.get("blkif_request_indirect.indirect_op"), 1);
    strictEqual(c.get("blkif_request_indirect.nr_segments"), 2);
    strictEqual(c.get("blkif_response.id"), 0);
    strictEqual(c.get("blkif_response.operation"), 8);
    strictEqual(c.get("blkif_response.status"), 10);
    strictEqual(c.get("blkif_request_segment.first_sect"), 4);
    strictEqual(c.get("blkif_request_segment.last_sect"), 5);
  });
}

const u32 = fc.nat({ max: 0xffff_ffff });
const arbReq = fc.record({
  operation: fc.constantFrom(
    BLKIF_OP_READ,
    BLKIF_OP_WRITE,
    2,
    3,
    BLKIF_OP_DISCARD,
    BLKIF_OP_INDIRECT,
  ),
  nseg: fc.nat({ max: 11 }),
  handle: fc.nat({ max: 0xffff }),
  idLo: u32,
  idHi: u32,
  sector: fc.maxSafeNat(),
  nrSectors: fc.maxSafeNat(),
  flag: fc.nat({ max: 255 }),
  indirectOp: fc.nat({ max: 255 }),
  indirectSegs: fc.nat({ max: 0xffff }),
  grefs: fc.array(u32, { minLength: 11, maxLength: 11 }),
  first: fc.array(fc.nat({ max: 255 }), { minLength: 11, maxLength: 11 }),
  last: fc.array(fc.nat({ max: 255 }), { minLength: 11, maxLength: 11 }),
});

function roundTrip(abi: BlkifAbi): void {
  fc.assert(
    fc.property(arbReq, (r) => {
      const req = new BlkifRequest();
      req.operation = r.operation;
      req.handle = r.handle;
      req.idLo = r.idLo;
      req.idHi = r.idHi;
      req.sectorNumber = r.sector;
      req.nrSectors = r.nrSectors;
      req.flag = r.flag;
      req.indirectOp = r.indirectOp;
      req.nrSegments = r.operation === BLKIF_OP_INDIRECT ? r.indirectSegs : r.nseg;
      req.indirectGrefs.set(r.grefs.slice(0, 8));
      req.grefs.set(r.grefs);
      req.firstSect.set(r.first);
      req.lastSect.set(r.last);
      const slot = encodeRequest(abi, req, new Uint8Array(abi.entryBytes));
      const back = decodeRequest(abi, slot, new BlkifRequest());
      strictEqual(back.operation, r.operation);
      strictEqual(back.handle, r.handle);
      strictEqual(back.idLo, r.idLo);
      strictEqual(back.idHi, r.idHi);
      strictEqual(back.sectorNumber, r.sector);
      if (r.operation === BLKIF_OP_DISCARD) {
        strictEqual(back.nrSectors, r.nrSectors);
        strictEqual(back.flag, r.flag);
      } else if (r.operation === BLKIF_OP_INDIRECT) {
        strictEqual(back.indirectOp, r.indirectOp);
        strictEqual(back.nrSegments, r.indirectSegs);
        deepStrictEqual([...back.indirectGrefs], r.grefs.slice(0, 8));
      } else {
        strictEqual(back.nrSegments, r.nseg);
        deepStrictEqual([...back.grefs.subarray(0, r.nseg)], r.grefs.slice(0, r.nseg));
        deepStrictEqual([...back.firstSect.subarray(0, r.nseg)], r.first.slice(0, r.nseg));
        deepStrictEqual([...back.lastSect.subarray(0, r.nseg)], r.last.slice(0, r.nseg));
      }
    }),
    { numRuns: 500 },
  );
}

Deno.test("encodeRequest()/decodeRequest() round-trip every request form (x86_32)", () => {
  roundTrip(BLKIF_ABI_X86_32);
});

Deno.test("encodeRequest()/decodeRequest() round-trip every request form (x86_64)", () => {
  roundTrip(BLKIF_ABI_X86_64);
});

Deno.test("encodeRequest() places a read at the x86_32 offsets byte for byte", () => {
  const req = new BlkifRequest();
  req.operation = BLKIF_OP_READ;
  req.nrSegments = 1;
  req.handle = 0xca00;
  req.idLo = 0x11223344;
  req.idHi = 0x55667788;
  req.sectorNumber = 0x1_0000_0002;
  req.grefs[0] = 0xdeadbeef;
  req.firstSect[0] = 1;
  req.lastSect[0] = 7;
  const b = encodeRequest(BLKIF_ABI_X86_32, req, new Uint8Array(108));
  deepStrictEqual(
    [...b.subarray(0, 28)],
    [
      0,
      1,
      0x00,
      0xca, // op, nseg, handle
      0x44,
      0x33,
      0x22,
      0x11,
      0x88,
      0x77,
      0x66,
      0x55, // id
      2,
      0,
      0,
      0,
      1,
      0,
      0,
      0, // sector_number
      0xef,
      0xbe,
      0xad,
      0xde,
      1,
      7,
      0,
      0, // seg[0]
    ],
  );
});

Deno.test("decodeRequest() keeps sector numbers above 2^53 larger than any disk", () => {
  const slot = new Uint8Array(112);
  slot.fill(0xff, 16, 24);
  const r = decodeRequest(BLKIF_ABI_X86_64, slot, new BlkifRequest());
  strictEqual(r.sectorNumber > Number.MAX_SAFE_INTEGER, true);
});

Deno.test("encodeResponse()/decodeResponse() keep the id halves and a signed status", () => {
  for (const abi of [BLKIF_ABI_X86_32, BLKIF_ABI_X86_64]) {
    for (const status of [0, BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP]) {
      const b = encodeResponse(abi, new Uint8Array(16), 0xfffffffe, 7, 6, status);
      deepStrictEqual(decodeResponse(abi, b), {
        idLo: 0xfffffffe,
        idHi: 7,
        operation: 6,
        status,
      });
    }
  }
});

Deno.test("blkifAbiByName() maps protocol names and refuses unknown ones", () => {
  strictEqual(blkifAbiByName("x86_64-abi", BLKIF_ABI_X86_32), BLKIF_ABI_X86_64);
  strictEqual(blkifAbiByName(undefined, BLKIF_ABI_X86_32), BLKIF_ABI_X86_32);
  strictEqual(blkifAbiByName("arm-abi", BLKIF_ABI_X86_32), undefined);
  strictEqual(indirectPagesFor(512), 1);
  strictEqual(indirectPagesFor(513), 2);
});
