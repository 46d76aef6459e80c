/**
 * GNTMAP_host_map for a PV guest (create_grant_pv_mapping / replace_grant_pv_mapping of
 * xen/arch/x86/pv/grant_table.c): a granted frame is mapped by writing the guest's L1
 * entry at a virtual address (or at a PTE's machine address with GNTMAP_contains_pte)
 * with the references a mapping takes; unmapping clears it (or, for unmap_and_replace,
 * moves the entry found at new_addr into its place). The paging validator accepts such
 * foreign entries when the grant table says the domain holds a grant mapping of the frame.
 * @module
 */
import type { Mfn } from "../../abi/mod.ts";
import { guestL1Mfn, guestL1Mfn64, PTE_HI_GUEST_KERNEL } from "../../paging/mod.ts";
import { hiOf, loOf } from "../pv64/guest_access64.ts";
import { isLockedTable } from "../../paging/mod.ts";
import { writeEntry } from "../../paging/mod.ts";
import { putPageFromL1e } from "../../paging/mod.ts";
import { getPageType } from "../../paging/mod.ts";
import { PGT_l1_page_table, PGT_writable_page } from "../../paging/mod.ts";
import {
  GNTMAP_application_map,
  GNTMAP_contains_pte,
  GNTMAP_readonly,
  GNTST_general_error,
  GNTST_okay,
  MAPKIND_READ,
  MAPKIND_WRITE,
} from "../../abi/mod.ts";
import type { GrantHostMapper } from "../gnttab/table.ts";
import { gnttabMapKind } from "../gnttab/map.ts";
import type { Domain } from "../domain/domain.ts";
import type { Host } from "../machine/host.ts";
import { applyFlushes } from "../machine/flush.ts";
import { asMfn } from "../../abi/mod.ts";

const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, G = 0x100;

/** The L1 entry a host address names: [l1 mfn, slot], or null when it is not usable. */
function locate(d: Domain, hostAddr: number, flags: number): [number, number] | null {
  const f = d.host.frames;
  let l1: number, slot: number;
  if (flags & GNTMAP_contains_pte) {
    if (hostAddr % 8 !== 0 || hostAddr >= f.count * 4096) return null;
    l1 = Math.floor(hostAddr / 4096);
    slot = (hostAddr % 4096) / 8;
  } else if (d.mm.pv64) {
    // a signed canonical address (guest_access64.ts)
    l1 = guestL1Mfn64(d.mm, 0, loOf(hostAddr), hiOf(hostAddr));
    slot = (loOf(hostAddr) >>> 12) & 511;
  } else {
    if (hostAddr >= 0xf5800000) return null;
    l1 = guestL1Mfn(d.mm, 0, hostAddr);
    slot = Math.floor(hostAddr / 4096) & 511;
  }
  if (l1 < 0 || !f.isOwnedBy(l1, d.domid)) return null;
  if (f.type[l1] !== PGT_l1_page_table || !isLockedTable(d.mm, l1)) return null;
  return [l1, slot];
}

/**
 * The host mapper of one PV domain.
 * @param d the domain whose page tables receive the mappings
 */
export function pvGrantHostMapper(d: Domain): GrantHostMapper {
  const f = d.host.frames;
  return {
    create(hostAddr: number, mfn: Mfn, flags: number): number {
      const at = locate(d, hostAddr, flags);
      if (!at) return GNTST_general_error;
      const [l1, slot] = at;
      const write = (flags & GNTMAP_readonly) === 0;
      if (f.getPageAnyOwner(mfn) < 0) return GNTST_general_error;
      if (write && getPageType(f, mfn, PGT_writable_page) !== 0) {
        f.putPage(mfn);
        return GNTST_general_error;
      }
      const i = l1 * 1024 + slot * 2;
      const olo = f.u32[i], ohi = f.u32[i + 1];
      const user = (flags & GNTMAP_application_map) !== 0;
      const lo = mfn * 4096 + P + A + D + (write ? RW : 0) + (user ? US : 0);
      // adjust_guest_l1e of a 64-bit guest: kernel pages become user pages marked as the
      // kernel's, user pages global
      if (d.mm.pv64) {
        // grant_to_pte_flags: the _GNTMAP_guest_avail bits (16..) go to _PAGE_AVAIL (9..11)
        const avail = ((flags >>> 16) & 7) << 9;
        writeEntry(
          f,
          l1,
          slot,
          (lo | US | avail | (user ? G : 0)) >>> 0,
          user ? 0 : PTE_HI_GUEST_KERNEL,
        );
      } else writeEntry(f, l1, slot, lo >>> 0, 0);
      putPageFromL1e(f, olo, ohi);
      flushMapping(d, hostAddr, flags);
      return GNTST_okay;
    },
    replace(hostAddr: number, mfn: Mfn, newAddr: number, flags: number): number {
      const at = locate(d, hostAddr, flags);
      if (!at) return GNTST_general_error;
      const [l1, slot] = at;
      const i = l1 * 1024 + slot * 2;
      const olo = f.u32[i], ohi = f.u32[i + 1];
      if (!(olo & P) || Math.floor(olo / 4096) !== mfn || ohi & 0xfffff & ~PTE_HI_GUEST_KERNEL) {
        return GNTST_general_error; // "PTE entry %lx for address %lx doesn't match frame"
      }
      if (newAddr !== 0) {
        const to = locate(d, newAddr, flags & ~GNTMAP_contains_pte);
        if (!to) return GNTST_general_error;
        const j = to[0] * 1024 + to[1] * 2;
        writeEntry(f, l1, slot, f.u32[j], f.u32[j + 1]); // the references move with it
        writeEntry(f, to[0], to[1], 0, 0);
        flushMapping(d, newAddr, 0);
      } else {
        writeEntry(f, l1, slot, 0, 0);
      }
      putPageFromL1e(f, olo, ohi);
      flushMapping(d, hostAddr, flags);
      return GNTST_okay;
    },
  };
}

/** Drops the stale translation of a changed mapping on every vcpu. */
function flushMapping(d: Domain, hostAddr: number, flags: number): void {
  if (flags & GNTMAP_contains_pte) d.mm.flush.flushAll(d.mm.flush.allMask);
  else if (hostAddr !== hostAddr >>> 0) d.mm.flush.flushAll(d.mm.flush.allMask);
  else d.mm.flush.invlpg(d.mm.flush.allMask, hostAddr >>> 0);
  applyFlushes(d);
}

/**
 * Lets the paging validator accept an L1 entry naming another domain's frame when the
 * table's owner holds a grant mapping of it (Xen's foreign-page check in get_page_from_l1e).
 * @param host the host whose frames get the hook
 */
export function installGrantMapCheck(host: Host): void {
  host.frames.foreignMapCheck = (owner, mfn, writable) => {
    const gt = host.domains.get(owner)?.gnttab;
    if (!gt) return false;
    const kind = gnttabMapKind(gt, asMfn(mfn));
    return writable ? (kind & MAPKIND_WRITE) !== 0 : (kind & (MAPKIND_READ | MAPKIND_WRITE)) !== 0;
  };
}
