/**
 * set_gdt and update_descriptor (do_set_gdt / do_update_descriptor of
 * xen/arch/x86/pv/descriptor-tables.c, compat form): GDT frames must be the domain's and
 * validate as descriptor pages; a single descriptor update must pass check_descriptor
 * and land in a descriptor page or a writable page of the domain.
 * @module
 */
import { EFAULT, EINVAL } from "../../abi/mod.ts";
import { FIRST_RESERVED_GDT_ENTRY } from "../../abi/mod.ts";
import { PGT_seg_desc_page, PGT_writable_page } from "../../paging/mod.ts";
import { getPageAndType, getPageType, putPageAndType, putPageType } from "../../paging/mod.ts";
import { checkDescriptor } from "../pv/descriptor.ts";
import type { Vcpu } from "../domain/vcpu.ts";

/** do_set_gdt(frame_list, entries). */
export function doSetGdt(v: Vcpu, frameList: number, entries: number): number {
  entries = entries >>> 0;
  if (entries > FIRST_RESERVED_GDT_ENTRY) return -EINVAL;
  const nr = Math.ceil(entries / 512);
  const d = v.domain;
  // the frame list holds unsigned longs: 8 bytes each for a 64-bit guest
  const step = d.mm.pv64 ? 8 : 4;
  const list = new Uint8Array(nr * step);
  if (!v.access.copyFromGuest(frameList, list)) return -EFAULT;
  const dv = new DataView(list.buffer);
  const f = d.host.frames;
  const taken: number[] = [];
  for (let i = 0; i < nr; i++) {
    const mfn = d.mm.gfnToMfn(dv.getUint32(i * step, true)); // a pfn when translated
    if (
      (step === 8 && dv.getUint32(i * 8 + 4, true) !== 0) || mfn >= f.count ||
      getPageAndType(f, mfn, PGT_seg_desc_page, d.domid) !== 0
    ) {
      for (const m of taken) putPageAndType(f, m);
      return -EINVAL;
    }
    taken.push(mfn);
  }
  for (const m of v.gdtFrames) putPageAndType(f, m);
  v.gdtFrames = taken;
  v.gdtEnts = entries;
  v.segmentsDirty = true;
  v.cpu.flushTlb();
  return 0;
}

const scratch = new Int32Array(2);

/** do_update_descriptor(pa_lo, pa_hi, desc_lo, desc_hi). */
export function doUpdateDescriptor(
  v: Vcpu,
  paLo: number,
  paHi: number,
  descLo: number,
  descHi: number,
): number {
  if ((paLo & 7) !== 0 || paHi !== 0) return -EINVAL;
  const d = v.domain;
  if (!checkDescriptor(descLo, descHi, scratch, d.mm.pv64)) return -EINVAL;
  const f = d.host.frames;
  const mfn = d.mm.gfnToMfn(paLo >>> 12); // a guest-physical address when translated
  if (mfn >= f.count || !f.getPage(mfn, d.domid)) return -EINVAL;
  const type = f.type[mfn] === PGT_seg_desc_page && f.typeCount[mfn] !== 0
    ? PGT_seg_desc_page
    : PGT_writable_page;
  let rc = -EINVAL;
  if (getPageType(f, mfn, type) === 0) {
    const maddr = mfn * 4096 + (paLo & 4095);
    const w = maddr / 4;
    f.u32[w] = scratch[0];
    f.u32[w + 1] = scratch[1];
    d.host.mem.noteWrite(maddr, 8);
    putPageType(f, mfn);
    for (const x of d.vcpus) x.segmentsDirty = true;
    rc = 0;
  }
  f.putPage(mfn);
  return rc;
}
