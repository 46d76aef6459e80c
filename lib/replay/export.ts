/**
 * For `pvx replay`: exports of the replayed traffic. vbd streams as a readable
 * per-request listing (`--vbd-text`), vif streams as pcap (`--pcap`, the replay switch's
 * capture).
 * @module
 */
import type { ReplayView } from "./recording_replay_types.ts";
import { SRING_REQ_PROD, SRING_RSP_PROD } from "../abi/mod.ts";
import {
  BLKIF_OP_DISCARD,
  BLKIF_OP_INDIRECT,
  type BlkifAbi,
  BlkifRequest,
  decodeRequest,
  decodeResponse,
} from "../blkfront/mod.ts";
import { PcapWriter } from "../netfront/mod.ts";
import type { VirtualSwitch } from "../netfront/mod.ts";
import { concatBytes } from "../bytes.ts";

const OP_NAMES = [
  "read",
  "write",
  "write_barrier",
  "flush_diskcache",
  "op4",
  "discard",
  "indirect",
];

function opName(op: number): string {
  return OP_NAMES[op] ?? `op${op}`;
}

/**
 * Follows a vbd stream's ring during replay and lists each request and response once:
 * `ring-name req #index id=N op sector=S segs=[gref:first-last ...]` and
 * `ring-name rsp #index id=N op status=S`.
 */
export class VbdTextExport {
  /** The lines so far. */
  readonly lines: string[] = [];
  readonly #abi: BlkifAbi;
  readonly #name: string;
  #req = 0;
  #rsp = 0;
  readonly #r = new BlkifRequest();

  /** @param name the stream's name @param abi the blkif ABI spoken */
  constructor(name: string, abi: BlkifAbi) {
    this.#name = name;
    this.#abi = abi;
  }

  /** The ReplayHost `afterInput` hook. */
  readonly afterInput = (host: ReplayView): void => {
    const key = host.recordedMapKey(1);
    const ring = host.liveMaps().find((m) => m.key === key);
    if (!ring) return;
    const p = ring.page;
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const eb = this.#abi.entryBytes;
    const size = 1 << Math.floor(Math.log2((4096 - 64) / eb));
    const reqProd = dv.getUint32(SRING_REQ_PROD, true);
    const rspProd = dv.getUint32(SRING_RSP_PROD, true);
    // never list more than one ring's worth at once (a hostile producer jump)
    if (((reqProd - this.#req) >>> 0) > size) this.#req = (reqProd - size) >>> 0;
    while (this.#req !== reqProd) {
      const off = 64 + (this.#req & (size - 1)) * eb;
      const r = decodeRequest(this.#abi, p.subarray(off, off + eb), this.#r);
      let detail = "";
      if (r.operation === BLKIF_OP_DISCARD) detail = ` nr_sectors=${r.nrSectors}`;
      else if (r.operation === BLKIF_OP_INDIRECT) {
        const pages = [...r.indirectGrefs.subarray(0, Math.ceil(r.nrSegments / 512))];
        detail = ` ${opName(r.indirectOp)} nsegs=${r.nrSegments} indirect=[${pages.join(" ")}]`;
      } else {
        const segs = [];
        for (let i = 0; i < Math.min(r.nrSegments, 11); i++) {
          segs.push(`${r.grefs[i]}:${r.firstSect[i]}-${r.lastSect[i]}`);
        }
        detail = ` segs=[${segs.join(" ")}]`;
      }
      this.lines.push(
        `${this.#name} req #${this.#req} id=${r.idLo} ${opName(r.operation)} ` +
          `sector=${r.sectorNumber}${detail}`,
      );
      this.#req = (this.#req + 1) >>> 0;
    }
    if (((rspProd - this.#rsp) >>> 0) > size) this.#rsp = (rspProd - size) >>> 0;
    while (this.#rsp !== rspProd) {
      const off = 64 + (this.#rsp & (size - 1)) * eb;
      const r = decodeResponse(this.#abi, p.subarray(off, off + eb));
      this.lines.push(
        `${this.#name} rsp #${this.#rsp} id=${r.idLo} ${opName(r.operation)} status=${r.status}`,
      );
      this.#rsp = (this.#rsp + 1) >>> 0;
    }
  };
}

/** Collects a pcap of every frame crossing the replay switches. */
export class PcapExport {
  readonly #chunks: Uint8Array[] = [];
  readonly #writer: PcapWriter;
  #tick = 0;

  constructor() {
    // deterministic timestamps: one millisecond per frame
    this.#writer = new PcapWriter((b) => this.#chunks.push(b.slice()), () => this.#tick++ * 1e6);
  }

  /** Captures the frames of `sw`. */
  attach(sw: VirtualSwitch): void {
    sw.pcap = this.#writer;
  }

  /** Frames captured. */
  get frames(): number {
    return this.#writer.frames;
  }

  /** The capture file's bytes. */
  bytes(): Uint8Array {
    return concatBytes(this.#chunks);
  }
}
