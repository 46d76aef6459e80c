/**
 * The hypercall transfer page of a 64-bit PV guest, filled as Xen fills it for a ring-3
 * kernel: each 32-byte slot saves rcx and r11 (which `syscall` clobbers), loads the
 * hypercall number and enters Xen with `syscall`, then restores them and returns; iret's
 * slot pushes rax too and does not return (the guest jumps to it with the iret frame on
 * its stack). The rest of the page is int3.
 * @module
 */
import { __HYPERVISOR_iret } from "../../abi/mod.ts";
import { HYPERCALL_STUB_SIZE } from "../../abi/mod.ts";

/**
 * Fills a 4096-byte page with the 64-bit hypercall stubs.
 * @param page the page bytes
 */
export function fillHypercallPage64(page: Uint8Array): void {
  page.fill(0xcc, 0, 4096);
  for (let i = 0; i < 4096 / HYPERCALL_STUB_SIZE; i++) {
    const p = i * HYPERCALL_STUB_SIZE;
    page[p] = 0x51; // push %rcx
    page[p + 1] = 0x41; // push %r11
    page[p + 2] = 0x53;
    if (i === __HYPERVISOR_iret) {
      page[p + 3] = 0x50; // push %rax
      page[p + 4] = 0xb8; // mov $iret,%eax
      putU32(page, p + 5, i);
      page[p + 9] = 0x0f; // syscall
      page[p + 10] = 0x05;
      continue;
    }
    page[p + 3] = 0xb8; // mov $i,%eax
    putU32(page, p + 4, i);
    page[p + 8] = 0x0f; // syscall
    page[p + 9] = 0x05;
    page[p + 10] = 0x41; // pop %r11
    page[p + 11] = 0x5b;
    page[p + 12] = 0x59; // pop %rcx
    page[p + 13] = 0xc3; // ret
  }
}

function putU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}
