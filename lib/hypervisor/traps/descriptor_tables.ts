/**
 * A PV vcpu's descriptor tables as its CPU sees them (the DescriptorTables seam of
 * lib/cpu/platform.ts): the GDT is the frames given to set_gdt below
 * FIRST_RESERVED_GDT_ENTRY plus Xen's reserved page with the flat selectors; the LDT is
 * read through the guest's page tables at the MMUEXT_SET_LDT base. Descriptors come
 * back with check_descriptor's fixups applied.
 * @module
 */
import { ACC_READ, type DescriptorTables, TABLE_GDT } from "../../cpu/mod.ts";
import { FIRST_RESERVED_GDT_ENTRY } from "../../abi/mod.ts";
import type { Vcpu } from "../domain/vcpu.ts";
import {
  checkDescriptor,
  xenReservedDescriptor,
  xenReservedDescriptor64,
} from "../pv/descriptor.ts";

/** The GDT holds 16 pages of 512 entries (FIRST_RESERVED_GDT_PAGE + 2 for Xen). */
const GDT_LIMIT_ENTRIES = FIRST_RESERVED_GDT_ENTRY + 512;

/** DescriptorTables of one vcpu. */
export class PvDescriptorTables implements DescriptorTables {
  private readonly v: Vcpu;
  private readonly u32: Uint32Array;

  /** @param v the vcpu */
  constructor(v: Vcpu) {
    this.v = v;
    this.u32 = new Uint32Array(v.domain.host.mem.buffer);
  }

  /** @inheritdoc */
  read(table: number, index: number, out: Int32Array): boolean {
    const v = this.v;
    let lo = 0, hi = 0;
    if (table === TABLE_GDT) {
      if (index >= GDT_LIMIT_ENTRIES) return false;
      if (index >= FIRST_RESERVED_GDT_ENTRY) {
        const x = v.pv64 !== null ? xenReservedDescriptor64(index) : xenReservedDescriptor(index);
        out[0] = x ? x[0] : 0;
        out[1] = x ? x[1] : 0;
        return true;
      }
      if (index >= v.gdtEnts) return false;
      const mfn = v.gdtFrames[index >>> 9];
      const w = mfn * 1024 + (index & 511) * 2;
      lo = this.u32[w];
      hi = this.u32[w + 1];
    } else {
      const ents = v.domain.mm.ldtEnts[v.id];
      if (index >= ents) return false;
      const mm = v.domain.mm;
      const linear = mm.ldtBase[v.id] + index * 8;
      // a 64-bit guest's LDT: its 64-bit base through the 4-level walker
      const m = mm.pv64
        ? mm.lmWalkers[v.id].translate64(
          linear >>> 0,
          (mm.ldtBaseHi[v.id] + (linear > 0xffffffff ? 1 : 0)) | 0,
          ACC_READ,
        )
        : mm.walkers[v.id].translate(linear, ACC_READ);
      if (m < 0 || (m & 7) !== 0) {
        out[0] = out[1] = 0;
        return true;
      }
      lo = this.u32[m >>> 2];
      hi = this.u32[(m >>> 2) + 1];
    }
    if (!checkDescriptor(lo, hi, out, v.pv64 !== null)) out[0] = out[1] = 0;
    return true;
  }

  /** @inheritdoc */
  setAccessed(_table: number, _index: number): void {
    // Xen's GDT/LDT mappings are read-only to the guest; the bit is not kept.
  }
}
