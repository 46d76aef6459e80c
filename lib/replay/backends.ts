/**
 * For `pvx replay`: builds a fresh backend of a recorded stream's kind on a ReplayHost
 * (a copy of the recorded disk, a fresh switch), names ring slots in divergences, and
 * checks the "every request answered or the device disconnected" invariant.
 * @module
 */
import { InputError } from "../errors.ts";
import type { DeviceHost } from "../hypervisor/mod.ts";
import { ringSize, SRING_HEADER, SRING_REQ_PROD, SRING_RSP_PROD } from "../abi/mod.ts";
import { type Block, BlockType, splitText, type StreamConfig } from "./recording_format.ts";
import { Blkback } from "../blkfront/mod.ts";
import { type DiskImage, MemoryDiskImage } from "../blkfront/mod.ts";
import { BLKIF_ABI_X86_32, type BlkifAbi, blkifAbiByName } from "../blkfront/mod.ts";
import { Netback } from "../netfront/mod.ts";
import { VirtualSwitch } from "../netfront/mod.ts";
import { HostResponder } from "../netfront/mod.ts";
import { RX_SLOT_BYTES, TX_SLOT_BYTES } from "../netfront/mod.ts";
import { ConsoleBackend } from "../console/mod.ts";
import { MemorySink } from "../console/mod.ts";
import { XenStore } from "../hypervisor/mod.ts";
import { XenstoreRingBackend } from "../hypervisor/mod.ts";

/** A backend under replay: how to stop it. */
export interface ReplayedBackend {
  /** Whether the backend gave the device up (fatal error, disconnect). */
  disconnected(): boolean;
  /** Releases it. */
  stop(): Promise<void>;
  /** The switch of a vif (for pcap export). */
  switch?: VirtualSwitch;
}

/** Builds a backend on `host`; tests pass their own (a backend with an injected bug). */
export type BackendFactory = (
  host: DeviceHost,
  config: StreamConfig,
  disk: Uint8Array | undefined,
  image?: DiskImage,
) => ReplayedBackend;

/**
 * Streams `pvx replay` can re-drive. The xenstore ring is fuzzed (on an empty store) but
 * not compared: its answers depend on the whole store, which the recording does not hold.
 * @param fuzz for `--fuzz` (model mode)
 */
export function replayable(kind: string, fuzz = false): boolean {
  return kind === "vbd" || kind === "vif" || kind === "console" || (fuzz && kind === "xenstore");
}

/**
 * The default factory: Blkback on an in-memory copy of the recorded image, Netback on a
 * fresh switch (with the host responder when the recording had one), the console
 * backend on a memory sink.
 * @param image override for a vbd's image (tests: a guarded or buggy image)
 */
export function defaultBackend(
  host: DeviceHost,
  c: StreamConfig,
  disk: Uint8Array | undefined,
  image?: DiskImage,
): ReplayedBackend {
  if (c.kind === "vbd") {
    if (!image && !disk) {
      throw new InputError(
        `Stream "${c.name}" has no embedded disk image; pass --disk ${c.name}=PATH`,
      );
    }
    const img = image ?? new MemoryDiskImage(disk!.slice(), c.readonly ?? false);
    const extra = c.extra ?? {};
    const be = new Blkback(host, {
      domid: c.domid,
      devid: c.devid ?? 0,
      vdev: c.vdev,
      image: img,
      readonly: c.readonly,
      discard: typeof extra.discard === "boolean" ? extra.discard : undefined,
      maxIndirectSegments: typeof extra.maxIndirectSegments === "number"
        ? extra.maxIndirectSegments
        : undefined,
    });
    return {
      disconnected: () => be.fatalReason !== undefined || !be.connected,
      stop: () => be.close(),
    };
  }
  if (c.kind === "vif") {
    const sw = new VirtualSwitch();
    if (c.responder) new HostResponder(sw);
    const nb = new Netback(host, sw, { domid: c.domid, devid: c.devid ?? 0 });
    nb.start();
    return {
      disconnected: () => nb.fatal !== null || !nb.connected,
      stop: () => Promise.resolve(nb.stop()),
      switch: sw,
    };
  }
  if (c.kind === "console") {
    const be = new ConsoleBackend(host, c.domid, c.mfn ?? 0, c.port ?? 0, new MemorySink());
    return { disconnected: () => false, stop: () => Promise.resolve(be.close()) };
  }
  if (c.kind === "xenstore") {
    const be = new XenstoreRingBackend(host, new XenStore(), c.domid, c.mfn ?? 0, c.port ?? 0);
    return { disconnected: () => false, stop: () => Promise.resolve(be.close()) };
  }
  throw new InputError(`Stream "${c.name}" (${c.kind}) cannot be replayed`);
}

/** The blkif ABI a vbd stream spoke (from the "protocol" node its backend read). */
export function streamAbi(blocks: readonly Block[]): BlkifAbi {
  for (const b of blocks) {
    if (b.type !== BlockType.ST_READ || !b.args[0]) continue;
    const [p, v] = splitText(b.data);
    if (p.endsWith("/protocol")) return blkifAbiByName(v, BLKIF_ABI_X86_32) ?? BLKIF_ABI_X86_32;
  }
  return BLKIF_ABI_X86_32;
}

/** Slot bytes of recorded map `mapId` of a stream, or 0 for a page that is no ring. */
export function slotBytes(c: StreamConfig, abi: BlkifAbi, mapId: number): number {
  if (c.kind === "vbd") return mapId === 1 ? abi.entryBytes : 0;
  if (c.kind === "vif") return mapId === 1 ? TX_SLOT_BYTES : mapId === 2 ? RX_SLOT_BYTES : 0;
  return 0;
}

/** Names the ring field or slot (and the response id there) at `offset` of a map. */
export function describeSlot(c: StreamConfig, abi: BlkifAbi) {
  return (mapId: number, offset: number, page: Uint8Array): string => {
    const eb = slotBytes(c, abi, mapId);
    if (eb === 0) return `${c.kind === "console" ? "console ring" : "page"} offset ${offset}`;
    const ring = c.kind === "vif" ? (mapId === 1 ? "tx" : "rx") + " ring" : "ring";
    if (offset < SRING_HEADER) {
      const names = ["req_prod", "req_event", "rsp_prod", "rsp_event"];
      return `${ring} header ${names[offset >> 2] ?? "padding"}`;
    }
    const slot = Math.floor((offset - SRING_HEADER) / eb);
    const base = SRING_HEADER + slot * eb;
    const dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const id = c.kind === "vbd" ? dv.getUint32(base, true) : dv.getUint16(base, true);
    return `${ring} slot ${slot} (response id ${id})`;
  };
}

/**
 * Requests visible on the request/response rings of a stream that were never answered
 * (the invariant fuzzing checks after a final kick): req_prod - rsp_prod per ring, when
 * within one ring's worth.
 */
export function unansweredRequests(
  c: StreamConfig,
  abi: BlkifAbi,
  maps: { key: string; page: Uint8Array }[],
  ringKeys: readonly string[],
): number {
  if (c.kind !== "vbd" && c.kind !== "vif") return 0; // no request/response rings
  let n = 0;
  for (const m of maps) {
    const k = ringKeys.indexOf(m.key);
    if (k < 0) continue;
    const eb = c.kind === "vbd" ? abi.entryBytes : k === 0 ? TX_SLOT_BYTES : 0;
    if (eb === 0) continue; // the RX ring holds posted buffers, answered only by traffic
    const dv = new DataView(m.page.buffer, m.page.byteOffset, m.page.byteLength);
    const out = (dv.getUint32(SRING_REQ_PROD, true) - dv.getUint32(SRING_RSP_PROD, true)) >>> 0;
    if (out <= ringSize(eb)) n += out;
  }
  return n;
}

/**
 * Finds the request referencing grant `gref` in a stream's rings: a vbd request's direct
 * segment, a vif TX request or RX buffer.
 * @returns e.g. "ring request #7 (slot 7): id 0, segment 1", or undefined
 */
export function describeGrant(c: StreamConfig, abi: BlkifAbi) {
  return (gref: number, rings: (Uint8Array | undefined)[]): string | undefined => {
    const probe = (
      page: Uint8Array | undefined,
      eb: number,
      name: string,
      find: (dv: DataView, base: number) => string | undefined,
    ) => {
      if (!page || eb === 0) return undefined;
      const dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
      const n = ringSize(eb);
      const prod = dv.getUint32(SRING_REQ_PROD, true);
      // newest first: older slots may still name the same (reused) grant
      for (let k = 1; k <= n; k++) {
        const idx = (prod - k) >>> 0;
        const slot = idx & (n - 1);
        const base = SRING_HEADER + slot * eb;
        const hit = find(dv, base);
        if (hit) return `${name} request #${idx} (slot ${slot}): ${hit}`;
      }
      return undefined;
    };
    if (c.kind === "vbd") {
      return probe(rings[0], abi.entryBytes, "ring", (dv, base) => {
        const nseg = Math.min(dv.getUint8(base + 1), 11);
        for (let i = 0; i < nseg; i++) {
          if (dv.getUint32(base + abi.segOff + 8 * i, true) === gref) {
            return `id ${dv.getUint32(base + abi.idOff, true)}, segment ${i}`;
          }
        }
        return undefined;
      });
    }
    if (c.kind === "vif") {
      return probe(
        rings[0],
        TX_SLOT_BYTES,
        "tx ring",
        (dv, base) =>
          dv.getUint32(base, true) === gref ? `id ${dv.getUint16(base + 8, true)}` : undefined,
      ) ??
        probe(
          rings[1],
          RX_SLOT_BYTES,
          "rx ring",
          (dv, base) =>
            dv.getUint32(base + 4, true) === gref
              ? `buffer id ${dv.getUint16(base, true)}`
              : undefined,
        );
    }
    return undefined;
  };
}
