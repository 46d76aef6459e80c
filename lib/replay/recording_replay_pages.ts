/**
 * The replay side's pages and ports of a {@link ReplayHost}: each grant or foreign frame the
 * backend maps gets a page (what the backend sees) and the recording's expected contents,
 * and the waits on host I/O while replaying.
 * @module
 */
import { setImmediate } from "node:timers";
import type { GrantMapping } from "../hypervisor/mod.ts";

/** One page the backend mapped during replay. */
export interface ReplayMap {
  /** "g:domid:gref" or "f:domid:mfn". */
  key: string;
  /** What the backend sees. */
  page: Uint8Array;
  /** What the recording says the page holds. */
  expected: Uint8Array;
  /** The grant mapping handed out (null: a foreign frame). */
  mapping: GrantMapping | null;
  /** Not unmapped yet. */
  live: boolean;
}

/** One event channel the backend bound during replay. */
export interface ReplayPort {
  /** "domid:remotePort". */
  key: string;
  onEvent: () => void;
  open: boolean;
}

/** The pages mapped and ports bound during a replay, in order (handle, port = index + 1). */
export class ReplayPages {
  /** Every page mapped so far, unmapped ones included. */
  readonly maps: ReplayMap[] = [];
  /** Every port bound so far (port number = index + 1), closed ones included. */
  readonly ports: ReplayPort[] = [];

  /** Binds a port; returns its number. */
  bind(key: string, onEvent: () => void): number {
    return this.ports.push({ key, onEvent, open: true });
  }

  /**
   * Maps a page holding a copy of `src` (the expected contents start equal).
   * @param key the page's key
   * @param src the contents
   */
  add(key: string, src: Uint8Array): ReplayMap {
    const m: ReplayMap = {
      key,
      page: src.slice(),
      expected: src.slice(),
      mapping: null,
      live: true,
    };
    this.maps.push(m);
    return m;
  }

  /** The live mapping of `key` (a copy to a mapped grant reaches the same page). */
  live(key: string | undefined): ReplayMap | undefined {
    return this.maps.find((m) => m.live && m.key === key);
  }

  /** The live page of grant `gref` of `domid`, if the backend maps it. */
  livePage(domid: number, gref: number): Uint8Array | undefined {
    return this.live(`g:${domid}:${gref}`)?.page;
  }

  /** The live mapping handed out as `mp`. */
  byMapping(mp: GrantMapping): ReplayMap | undefined {
    return this.maps.find((x) => x.mapping === mp && x.live);
  }

  /** The live pages with their keys. */
  liveMaps(): { key: string; page: Uint8Array }[] {
    return this.maps.filter((m) => m.live).map((m) => ({ key: m.key, page: m.page }));
  }
}

/** One macrotask turn (host I/O completions run), without setTimeout's clamping. */
export const yieldMacrotask = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/** Yields to the event loop until `done()` holds: 50 turns, then until `patienceMs` pass. */
export async function waitForHostIo(done: () => boolean, patienceMs: number): Promise<void> {
  const until = Date.now() + patienceMs;
  for (let r = 0; !done() && (r < 50 || Date.now() < until); r++) await yieldMacrotask();
}
