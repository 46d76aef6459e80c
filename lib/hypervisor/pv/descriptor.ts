/**
 * Xen's check_descriptor for a 32-bit PV guest (xen/arch/x86/pv/descriptor-tables.c):
 * code/data descriptors are accepted with their DPL raised to at least 1 and flat 4 GiB
 * limits kept; type-0 and not-present ones are harmless; call gates get DPL 0 with the
 * original DPL stored in the target selector's RPL; anything else is refused. Also Xen's
 * own reserved GDT entries (the flat ring-1 and ring-3 selectors).
 * @module
 */
import { FIRST_RESERVED_GDT_ENTRY } from "../../abi/mod.ts";

const SEG_P = 1 << 15, SEG_S = 1 << 12, SEG_DPL = 3 << 13, SEG_L = 1 << 21, SEG_TYPE = 0xf00;

/**
 * Checks and fixes up a descriptor.
 * @param lo low dword
 * @param hi high dword
 * @param out receives the fixed-up lo and hi
 * @returns false when the descriptor is not allowed
 */
export function checkDescriptor(lo: number, hi: number, out: Int32Array, pv64 = false): boolean {
  let a = lo | 0, b = hi | 0;
  if (!(b & SEG_P)) {
    out[0] = a;
    out[1] = b;
    return true;
  }
  let dpl = (b >>> 13) & 3;
  // __fixup_guest_selector: a 64-bit guest's kernel runs in ring 3, a 32-bit one's in 1
  if (pv64) dpl = 3;
  else if (dpl < 1) dpl = 1;
  b = (b & ~SEG_DPL) | (dpl << 13);
  if (b & SEG_S) {
    if (!pv64 && (b & SEG_L)) return false;
    out[0] = a;
    out[1] = b;
    return true;
  }
  if ((b & SEG_TYPE) === 0) {
    out[0] = a;
    out[1] = b;
    return true;
  }
  if ((b & SEG_TYPE) !== 0xc00) return false;
  let cs = a >>> 16;
  // guest_gate_selector_okay: a GDT selector below Xen's, or any LDT selector, or Xen's
  // flat kernel/user code selectors.
  const idx = cs >>> 3;
  if (!(cs & 4) && idx >= FIRST_RESERVED_GDT_ENTRY && !isXenFlatCode(cs)) return false;
  b &= ~SEG_DPL;
  cs = (cs & ~3) | dpl;
  a = (a & 0xffff) | (cs << 16);
  if (b & 0xe0) return false;
  out[0] = a;
  out[1] = b;
  return true;
}

function isXenFlatCode(sel: number): boolean {
  return (sel & ~3) === 0xe018 || (sel & ~3) === 0xe028;
}

/**
 * Xen's reserved GDT entries visible to a 32-bit PV guest, by entry index:
 * FLAT_RING1_CS (7171), FLAT_RING1_DS (7172), FLAT_RING3_CS (7173), FLAT_RING3_DS (7174).
 * @returns [lo, hi], or null for a reserved entry that is empty
 */
export function xenReservedDescriptor(index: number): readonly [number, number] | null {
  switch (index - FIRST_RESERVED_GDT_ENTRY) {
    case 3:
      return [0x0000ffff, 0x00cfba00]; // ring-1 code, flat
    case 4:
      return [0x0000ffff, 0x00cfb200]; // ring-1 data, flat
    case 5:
      return [0x0000ffff, 0x00cffa00]; // ring-3 code, flat
    case 6:
      return [0x0000ffff, 0x00cff200]; // ring-3 data, flat
    default:
      return null;
  }
}

/**
 * Xen's reserved GDT entries of a 64-bit PV guest, by entry index: 0xe008 ring-0 code
 * (64-bit), 0xe010 ring-0 data, 0xe023 ring-3 code (compatibility), 0xe02b ring-3 data,
 * 0xe033 ring-3 code (64-bit, L=1), 0xe038 ring-0 code (compatibility).
 * @returns [lo, hi], or null for a reserved entry that is empty
 */
export function xenReservedDescriptor64(index: number): readonly [number, number] | null {
  switch (index - FIRST_RESERVED_GDT_ENTRY) {
    case 1:
      return [0x0000ffff, 0x00af9b00];
    case 2:
      return [0x0000ffff, 0x00cf9300];
    case 4:
      return [0x0000ffff, 0x00cffb00];
    case 5:
      return [0x0000ffff, 0x00cff300];
    case 6:
      return [0x0000ffff, 0x00affb00];
    case 7:
      return [0x0000ffff, 0x00cf9b00];
    default:
      return null;
  }
}
