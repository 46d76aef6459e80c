/**
 * A learning virtual switch connecting vifs and the host endpoint: it learns source MACs
 * per port, forwards known unicast to one port and floods broadcast, multicast and
 * unknown unicast, never back to the sender. Forwarding is queued and drained
 * iteratively, so a port that answers from inside `deliver` (the host responder) never
 * recurses, and the order of frames is deterministic.
 * @module
 */
import type { PcapWriter } from "./pcap.ts";

/** Something attached to the switch. */
export interface SwitchPort {
  /** A name for logs and stats. */
  readonly name: string;
  /** Receives a frame (a private copy). */
  deliver(frame: Uint8Array): void;
}

/** Counters of the switch. */
export interface SwitchStats {
  forwarded: number;
  flooded: number;
  dropped: number;
}

const MAC_TABLE_MAX = 4096;
const QUEUE_MAX = 4096;

/** The switch. */
export class VirtualSwitch {
  readonly name: string;
  readonly #ports = new Map<number, SwitchPort>();
  readonly #macs = new Map<number, number>();
  #nextId = 1;
  readonly #queue: { from: number; frame: Uint8Array }[] = [];
  #draining = false;
  /** Capture of every frame crossing the switch (optional). */
  pcap: PcapWriter | null = null;
  readonly stats: SwitchStats = { forwarded: 0, flooded: 0, dropped: 0 };

  constructor(name = "xenbr0") {
    this.name = name;
  }

  /** Attaches a port. @returns its id */
  attach(port: SwitchPort): number {
    const id = this.#nextId++;
    this.#ports.set(id, port);
    return id;
  }

  /** Detaches a port and forgets its MACs. */
  detach(id: number): void {
    this.#ports.delete(id);
    for (const [mac, p] of this.#macs) if (p === id) this.#macs.delete(mac);
  }

  /** Number of attached ports. */
  get portCount(): number {
    return this.#ports.size;
  }

  /**
   * Sends a frame from port `from`. Frames shorter than an Ethernet header are dropped.
   * The frame is copied, so the caller may reuse its buffer.
   */
  send(from: number, frame: Uint8Array): void {
    this.sendOwned(from, frame.slice());
  }

  /** As {@link send}, for a frame the caller hands over (no copy). */
  sendOwned(from: number, frame: Uint8Array): void {
    if (frame.length < 14 || this.#queue.length >= QUEUE_MAX) {
      this.stats.dropped++;
      return;
    }
    this.#queue.push({ from, frame });
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const { from: src, frame: f } = this.#queue.shift()!;
        this.#forward(src, f);
      }
    } finally {
      this.#draining = false;
    }
  }

  #forward(from: number, f: Uint8Array): void {
    this.pcap?.write(f);
    const srcMac = macKey(f, 6);
    if ((f[6] & 1) === 0 && this.#ports.has(from)) {
      if (this.#macs.size >= MAC_TABLE_MAX && !this.#macs.has(srcMac)) this.#macs.clear();
      this.#macs.set(srcMac, from);
    }
    const multicast = (f[0] & 1) !== 0;
    const dst = multicast ? undefined : this.#macs.get(macKey(f, 0));
    if (dst !== undefined && dst !== from && this.#ports.has(dst)) {
      this.stats.forwarded++;
      this.#ports.get(dst)!.deliver(f);
      return;
    }
    if (dst === from) {
      this.stats.dropped++;
      return;
    }
    this.stats.flooded++;
    for (const [id, p] of this.#ports) if (id !== from) p.deliver(f.slice());
  }
}

/** A MAC address as one number (48 bits fit a double exactly). */
function macKey(f: Uint8Array, off: number): number {
  return ((f[off] << 8) | f[off + 1]) * 4294967296 +
    (((f[off + 2] << 24) | (f[off + 3] << 16) | (f[off + 4] << 8) | f[off + 5]) >>> 0);
}
