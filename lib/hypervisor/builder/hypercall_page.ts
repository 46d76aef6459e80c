/**
 * The hypercall transfer page of a 32-bit PV guest, filled as Xen fills it for a ring-1
 * kernel: each 32-byte slot `mov $nr,%eax; int $0x82; ret`, except iret's, which pushes
 * eax first and does not return; the rest of the page is int3.
 * @module
 */
import { __HYPERVISOR_iret, HYPERCALL_VECTOR } from "../../abi/mod.ts";

/**
 * Fills a 4096-byte page with the hypercall stubs.
 * @param page the page bytes
 */
export function fillHypercallPage(page: Uint8Array): void {
  page.fill(0xcc, 0, 4096);
  for (let i = 0; i < 4096 / 32; i++) {
    const p = i * 32;
    if (i === __HYPERVISOR_iret) {
      page[p] = 0x50; // push %eax
      page[p + 1] = 0xb8; // mov $iret,%eax
      writeU32(page, p + 2, i);
      page[p + 6] = 0xcd; // int $0x82
      page[p + 7] = HYPERCALL_VECTOR;
      continue;
    }
    page[p] = 0xb8; // mov $i,%eax
    writeU32(page, p + 1, i);
    page[p + 5] = 0xcd; // int $0x82
    page[p + 6] = HYPERCALL_VECTOR;
    page[p + 7] = 0xc3; // ret
  }
}

function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}
