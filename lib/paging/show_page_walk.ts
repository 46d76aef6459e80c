/**
 * A readable dump of the page walk for one linear address (Xen's show_page_walk), for
 * page-fault diagnostics and crash dumps. Reads only: sets no accessed/dirty bits.
 * @module
 */

import { _PAGE_PRESENT, _PAGE_PSE, INVALID_MFN, pteFrame } from "./constants.ts";
import type { PagingDomain } from "./paging_domain.ts";
import { asGfn, asMfn } from "../abi/mod.ts";

const hex = (n: number, w: number) => n.toString(16).padStart(w, "0");

/**
 * Describes how `linear` translates for a vcpu, level by level.
 * @param d the domain
 * @param vcpu the vcpu whose base pointer is used
 * @param linear the linear address
 * @returns lines such as "L3[3] = 00000000_0012a027 mfn 12a", ending at the first absent
 *   level or with the final machine address
 * @example
 * ```ts
 * import { makeTestGuest } from "./testing.ts";
 * import { showPageWalk } from "./show_page_walk.ts";
 * const g = makeTestGuest();
 * console.log(showPageWalk(g.dom, 0, 0x5123).join("\n"));
 * ```
 */
export function showPageWalk(d: PagingDomain, vcpu: number, linear: number): string[] {
  const out: string[] = [];
  const f = d.frames;
  const u32 = f.u32;
  linear >>>= 0;
  const cr3 = d.walkers[vcpu].cr3;
  out.push(
    `Pagetable walk from ${hex(linear, 8)} (d${d.domid}v${vcpu}, cr3 ${
      cr3 < 0 ? "none" : hex(cr3, 8)
    })`,
  );
  if (cr3 < 0) return out;
  let frame = Math.floor(cr3 / 4096);
  const idx = [linear >>> 30, (linear >>> 21) & 511, (linear >>> 12) & 511];
  for (let level = 3; level >= 1; level--) {
    const mfn = d.translated ? d.p2m.get(asGfn(frame)) : frame;
    if (mfn === INVALID_MFN || mfn >= f.count) {
      out.push(` L${level} table frame ${hex(frame, 1)} is not RAM of the domain`);
      return out;
    }
    const slot = idx[3 - level];
    const lo = u32[mfn * 1024 + slot * 2], hi = u32[mfn * 1024 + slot * 2 + 1];
    const next = pteFrame(lo, hi);
    const m2p = d.translated ? "" : ` pfn ${hex(f.m2p.get(asMfn(next)), 1)}`;
    out.push(
      ` L${level}[${hex(slot, 3)}] = ${hex(hi, 8)}_${hex(lo, 8)} ${d.translated ? "pfn" : "mfn"} ${
        hex(next, 1)
      }${m2p}`,
    );
    if (!(lo & _PAGE_PRESENT)) {
      out.push(`  not present`);
      return out;
    }
    if (level === 2 && (lo & _PAGE_PSE)) {
      out.push(`  2 MiB page`);
      return out;
    }
    frame = next;
  }
  const mfn = d.translated ? d.p2m.get(asGfn(frame)) : frame;
  out.push(` -> maddr ${hex(mfn * 4096 + (linear & 0xfff), 9)}`);
  return out;
}
