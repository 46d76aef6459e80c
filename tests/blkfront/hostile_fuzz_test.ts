/**
 * Hostile requests through the TS frontend: valid requests with 0..2 certain-invalid
 * mutations, and raw garbage slots. Checks: every answer is OKAY/ERROR/EOPNOTSUPP as
 * predicted, no access outside the image (guard bytes around it, a guarded image), no
 * write to memory not granted writable (host canaries, guest guard pages, read-only
 * grants), and every sector holds only its original, written or discarded content.
 * 5,000 requests by default; 100,000 under PVX_FUZZ=full.
 */
import { assertBytes } from "./_assert.ts";
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { MemoryDiskImage } from "../../lib/blkfront/disk_image.ts";
import {
  BLKIF_ABI_X86_32,
  BLKIF_ABI_X86_64,
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  type BlkifAbi,
  BlkifRequest,
  encodeRequest,
  encodeSegment,
} from "../../lib/blkfront/protocol.ts";
import type { SlotPages } from "../../lib/blkfront/frontend.ts";
import { GuardedImage, makeBlkRig } from "../../lib/blkfront/testing.ts";
import type { Blkback } from "../../lib/blkfront/backend.ts";
import type { Blkfront } from "../../lib/blkfront/frontend.ts";
import { makeWorldRig } from "./_world.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const DISK = 4096; // sectors
const GUARD = 8192; // bytes of guard around the image
const PAGES = 24; // data pages per slot

/** xorshift32: fast and reproducible. */
class Rng {
  s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (this.s = x >>> 0);
  }
  int(n: number): number {
    return this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
}

/** Original content of sector s (byte i). */
const orig = (s: number, i: number) => (s * 7 + i * 3 + 0x11) & 0xff;
/** Content the fuzzer writes to sector s. */
const wrote = (s: number, i: number) => (s * 13 + i * 5 + 0x77) & 0xff;

function fillSector(dst: Uint8Array, off: number, s: number, f: (s: number, i: number) => number) {
  for (let i = 0; i < 512; i++) dst[off + i] = f(s, i);
}

/** Whether 512 bytes at `off` are sector s's original, written or discarded content. */
function plausible(b: Uint8Array, off: number, s: number): boolean {
  let o = true, w = true, z = true;
  for (let i = 0; i < 512; i++) {
    const v = b[off + i];
    o &&= v === orig(s, i);
    w &&= v === wrote(s, i);
    z &&= v === 0;
  }
  return o || w || z;
}

interface Plan {
  build: (bytes: Uint8Array, pages: SlotPages) => void;
  /** What was generated (for failure messages). */
  desc?: string[];
  /** The predicted status, or undefined when it cannot be predicted. */
  expect: number | undefined;
  /** For OKAY reads with distinct pages: check the data. */
  check?: (pages: SlotPages) => void;
}

interface Ctx {
  rng: Rng;
  abi: BlkifAbi;
  frame: (mfn: number) => Uint8Array;
  roGref: number;
  foreignGref: number;
}

/** A gref the backend must refuse for this access. */
function badGref(c: Ctx, forRead: boolean): number {
  const k = c.rng.int(forRead ? 5 : 4);
  if (k === 0) return c.rng.int(8); // reserved, never granted
  if (k === 1) return 0xffff_0000 + c.rng.int(0xffff);
  if (k === 2) return c.foreignGref; // granted to another domain
  if (k === 3) return 100_000 + c.rng.int(1000); // beyond the table
  return c.roGref; // read-only grant: refused for a read into it
}

function plan(c: Ctx): Plan {
  const r = c.rng;
  if (r.chance(0.08)) { // raw garbage, op biased to the known range
    return {
      expect: undefined,
      build: (bytes) => {
        for (let i = 0; i < bytes.length; i++) bytes[i] = r.next() & 0xff;
        bytes[0] = r.chance(0.8) ? r.int(8) : bytes[0];
      },
    };
  }
  const req = new BlkifRequest(1024);
  const kind = r.int(7);
  const op = [BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER, BLKIF_OP_FLUSH_DISKCACHE][
    kind % 4
  ];
  let expect: number | undefined = BLKIF_RSP_OKAY;
  const fail = (s: number) => {
    if (expect === BLKIF_RSP_OKAY || expect === undefined) expect = s;
  };
  const indirect = kind === 4 || kind === 5;
  const discard = kind === 6;
  const isRead = indirect ? kind === 4 : op === BLKIF_OP_READ;
  // Segments: distinct pages, except for large indirect reads (whose data is not checked).
  let n: number;
  if (discard) n = 0;
  else if (indirect) n = !isRead || r.chance(0.5) ? 1 + r.int(PAGES) : 1 + r.int(256);
  else n = (op === BLKIF_OP_READ || op === BLKIF_OP_WRITE ? 1 : 0) + r.int(op > 1 ? 12 : 11);
  let total = 0;
  const segs: { gref: number; page: number; first: number; last: number }[] = [];
  for (let i = 0; i < n; i++) {
    const first = r.int(8);
    const last = first + r.int(8 - first);
    segs.push({ gref: -1, page: i % PAGES, first, last });
    total += last - first + 1;
  }
  let sector = r.int(DISK - total + 1);
  const distinct = n <= PAGES;
  // Mutations that make the request certainly invalid.
  const mutations = r.chance(0.5) ? 0 : 1 + r.int(2);
  let badSeg = -1;
  let badSegGref = -1;
  let badIndirectGref = -1;
  let nrSectors = discard ? r.int(DISK - sector + 1) : 0;
  let opByte = indirect ? BLKIF_OP_INDIRECT : discard ? BLKIF_OP_DISCARD : op;
  let indirectOp = isRead ? BLKIF_OP_READ : BLKIF_OP_WRITE;
  let nField = n;
  const desc: string[] = [`kind ${kind} op ${op} n ${n}`];
  for (let m = 0; m < mutations; m++) {
    const what = r.int(7);
    desc.push(`mutation ${what}`);
    if (what === 0) {
      opByte = r.chance(0.5) ? 4 : 7 + r.int(249);
      fail(BLKIF_RSP_EOPNOTSUPP);
    } else if (what === 1 && !discard) {
      sector = DISK - total + 1 + r.int(r.chance(0.5) ? 10 : 0x7fff_ffff);
      if (r.chance(0.2)) sector = 2 ** 32 + r.int(1000);
      if (r.chance(0.1)) sector = 2 ** 64 - 4096; // the largest below 2^64 a double holds
      if (total > 0) fail(BLKIF_RSP_ERROR);
    } else if (what === 1 && discard) {
      nrSectors = DISK - sector + 1 + r.int(1000);
      fail(BLKIF_RSP_ERROR);
    } else if (what === 2 && n > 0) {
      badSeg = r.int(n);
      fail(BLKIF_RSP_ERROR);
    } else if (what === 3 && n > 0) {
      badSegGref = r.int(n);
      segs[badSegGref].gref = badGref(c, isRead);
      if (!isRead && segs[badSegGref].gref === c.roGref) segs[badSegGref].gref = 3;
      fail(BLKIF_RSP_ERROR);
    } else if (what === 4 && !indirect && !discard) {
      nField = 12 + r.int(244);
      fail(BLKIF_RSP_ERROR);
    } else if (what === 4 && indirect) {
      nField = r.chance(0.3) ? 0 : 257 + r.int(2000);
      fail(BLKIF_RSP_ERROR);
    } else if (what === 5 && indirect) {
      indirectOp = 2 + r.int(254);
      fail(BLKIF_RSP_ERROR);
    } else if (what === 6 && indirect) {
      badIndirectGref = r.int(1);
      fail(BLKIF_RSP_ERROR);
    } else if (what === 6 && !indirect && !discard && (op === 0 || op === 1)) {
      nField = 0;
      fail(BLKIF_RSP_ERROR);
    }
  }
  if (discard && opByte !== BLKIF_OP_DISCARD && expect === BLKIF_RSP_ERROR) expect = undefined;
  // An unknown op swallows everything else; otherwise any certain error stays ERROR.
  if (opByte !== BLKIF_OP_INDIRECT && opByte !== BLKIF_OP_DISCARD && opByte > 3) {
    expect = BLKIF_RSP_EOPNOTSUPP;
  } else if (expect === BLKIF_RSP_EOPNOTSUPP) expect = undefined;
  const startSector = sector;
  return {
    expect,
    desc,
    build: (bytes, pages) => {
      for (let i = 0; i < segs.length; i++) {
        const sg = segs[i];
        if (sg.gref === -1) sg.gref = pages.dataGref[sg.page];
        if (i === badSeg) {
          if (r.chance(0.5)) sg.last = 8 + r.int(248);
          else {
            sg.first = 1 + r.int(7);
            sg.last = sg.first - 1;
          }
        }
      }
      if (!isRead) { // the data each sector would receive (writes use distinct pages)
        let s = startSector;
        for (const sg of segs) {
          const page = c.frame(pages.dataMfn[sg.page]);
          for (let k = sg.first; k <= Math.min(sg.last, 7); k++) {
            fillSector(page, k * 512, s++, wrote);
          }
        }
      }
      req.operation = opByte;
      req.indirectOp = indirectOp;
      req.nrSegments = nField;
      req.sectorNumber = startSector;
      req.nrSectors = nrSectors;
      req.handle = r.int(0x10000);
      if (indirect) {
        const ind = c.frame(pages.indirectMfn[0]);
        for (let i = 0; i < Math.min(segs.length, 512); i++) {
          encodeSegment(ind, i * 8, segs[i].gref, segs[i].first, segs[i].last);
        }
        req.indirectGrefs.fill(0);
        req.indirectGrefs[0] = badIndirectGref >= 0 ? badGref(c, true) : pages.indirectGref[0];
        if (req.indirectGrefs[0] === c.roGref) req.indirectGrefs[0] = 2;
      } else {
        for (let i = 0; i < Math.min(segs.length, 11); i++) {
          req.grefs[i] = segs[i].gref;
          req.firstSect[i] = segs[i].first;
          req.lastSect[i] = segs[i].last;
        }
      }
      encodeRequest(c.abi, req, bytes);
    },
    check: isRead && distinct
      ? (pages) => {
        let s = startSector;
        for (const sg of segs) {
          const page = c.frame(pages.dataMfn[sg.page]);
          for (let k = sg.first; k <= sg.last; k++) {
            ok(plausible(page, k * 512, s), `read of sector ${s} returned foreign data`);
            s++;
          }
        }
      }
      : undefined,
  };
}

/** What the fuzz needs of a connected pair and its host. */
interface FuzzEnv {
  frontend: Blkfront;
  backend: Blkback;
  guest: { allocFrame(): number; frame(mfn: number): Uint8Array };
  grant(mfn: number, readonly: boolean, toDom: number): number;
  canariesIntact(): boolean;
  stop(): void;
}

/** The fake host (testing_host.ts), draining by itself. */
async function fakeEnv(image: GuardedImage, abi: BlkifAbi): Promise<FuzzEnv> {
  const rig = await makeBlkRig({ image, frontend: { abi, maxSegments: PAGES } });
  return {
    frontend: rig.frontend,
    backend: rig.backend,
    guest: rig.guest,
    grant: (mfn, ro, toDom) => rig.guest.grant(mfn, ro, toDom),
    canariesIntact: () => rig.host.canariesIntact(),
    stop() {},
  };
}

/** The hypervisor's grant tables and event channels (HypervisorDeviceHost). */
async function worldEnv(image: GuardedImage, abi: BlkifAbi): Promise<FuzzEnv> {
  const rig = await makeWorldRig(image, { frontend: { abi, maxSegments: PAGES } });
  return {
    frontend: rig.frontend,
    backend: rig.backend,
    guest: rig.guest,
    grant: (mfn, ro, toDom) => rig.guest.grant(mfn, ro, toDom),
    canariesIntact: () => rig.canariesIntact(),
    stop: () => rig.stop(),
  };
}

async function fuzz(
  abi: BlkifAbi,
  count: number,
  seed: number,
  makeEnv: (image: GuardedImage, abi: BlkifAbi) => Promise<FuzzEnv>,
): Promise<void> {
  const backing = new Uint8Array(GUARD + DISK * 512 + GUARD).fill(0x5a);
  const disk = backing.subarray(GUARD, GUARD + DISK * 512);
  for (let s = 0; s < DISK; s++) fillSector(disk, s * 512, s, orig);
  const image = new GuardedImage(new MemoryDiskImage(disk));
  const env = await makeEnv(image, abi);
  const { frontend: f, backend, guest } = env;
  const frame = (mfn: number) => guest.frame(mfn);
  // Guest pages the backend must never write: ungranted guards and a read-only grant.
  const guards = Array.from({ length: 8 }, () => guest.allocFrame());
  for (const g of guards) frame(g).fill(0x3c);
  const roMfn = guest.allocFrame();
  frame(roMfn).fill(0x4b);
  const roGref = env.grant(roMfn, true, 0);
  const foreignGref = env.grant(guest.allocFrame(), false, 7);
  const ctx: Ctx = { rng: new Rng(seed), abi, frame, roGref, foreignGref };
  let done = 0;
  const seen = new Map<number, number>();
  const worker = async () => {
    while (done < count) {
      done++;
      const p = plan(ctx);
      const rsp = await f.submitRaw(p.build, PAGES, (rr, pages) => {
        if (rr.status === BLKIF_RSP_OKAY) p.check?.(pages);
      });
      seen.set(rsp.status, (seen.get(rsp.status) ?? 0) + 1);
      ok(
        rsp.status === BLKIF_RSP_OKAY || rsp.status === BLKIF_RSP_ERROR ||
          rsp.status === BLKIF_RSP_EOPNOTSUPP,
        `status ${rsp.status}`,
      );
      if (p.expect !== undefined) {
        strictEqual(rsp.status, p.expect, `request #${done} (seed ${seed}): ${p.desc?.join(", ")}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  await backend.idle();
  // Containment.
  deepStrictEqual(image.violations, []);
  ok(backing.subarray(0, GUARD).every((b) => b === 0x5a), "guard before the image");
  ok(backing.subarray(GUARD + DISK * 512).every((b) => b === 0x5a), "guard after the image");
  ok(env.canariesIntact(), "unallocated machine frames untouched");
  for (const g of guards) ok(frame(g).every((b) => b === 0x3c), "ungranted guest page untouched");
  ok(frame(roMfn).every((b) => b === 0x4b), "read-only grant untouched");
  for (let s = 0; s < DISK; s++) ok(plausible(disk, s * 512, s), `sector ${s} content`);
  strictEqual(f.badResponses, 0);
  strictEqual(backend.stats.fatal, 0);
  ok(backend.connected, "still connected");
  ok((seen.get(BLKIF_RSP_OKAY) ?? 0) > count / 10, "enough valid requests");
  ok((seen.get(BLKIF_RSP_ERROR) ?? 0) > count / 10, "enough refused requests");
  // And it still works.
  const data = new Uint8Array(8192).map((_, i) => i & 0xff);
  await f.write(100, data);
  assertBytes(await f.read(100, 16), data);
  env.stop();
}

Deno.test(
  `Blkback survives ${
    FULL ? "100,000" : "5,000"
  } hostile requests (x86_32) with nothing touched outside`,
  async () => {
    await fuzz(BLKIF_ABI_X86_32, FULL ? 100_000 : 5_000, 0x9e3779b9, fakeEnv);
  },
);

Deno.test(
  `Blkback survives ${
    FULL ? "20,000" : "1,000"
  } hostile requests (x86_64) with nothing touched outside`,
  async () => {
    await fuzz(BLKIF_ABI_X86_64, FULL ? 20_000 : 1_000, 12345, fakeEnv);
  },
);

Deno.test(
  `Blkback over HypervisorDeviceHost survives ${
    FULL ? "30,000" : "2,000"
  } hostile requests (x86_32): the real grant tables refuse what they must`,
  async () => {
    await fuzz(BLKIF_ABI_X86_32, FULL ? 30_000 : 2_000, 777, worldEnv);
  },
);
