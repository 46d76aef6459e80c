/**
 * The width-dependent hypercall argument structs, read through the layout tables, against
 * the same structs filled by gcc -m32 / -m64 from Xen's public headers.
 */
import assert from "node:assert/strict";
import { guestLayout } from "../../../lib/abi/mod.ts";
import {
  machphysMapping,
  readGnttabCopy,
  readGnttabSetupTable,
  readMemoryExchange,
  readMemoryReservation,
  readMulticallEntry,
  writeMulticallResult,
} from "../../../lib/hypervisor/pv64/hypercall_args.ts";

function haveTool(): boolean {
  try {
    Deno.statSync("/usr/include/xen/xen.h");
    return new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
const have = haveTool();
const ignored = have ? "" : " (ignored: gcc or libxen-dev headers missing)";

/** The pointer-sized values each width's program stores (32-bit: low halves). */
const P1 = (w: number) => (w === 64 ? "0xffff888000123000UL" : "0x80123000UL");
const P2 = (w: number) => (w === 64 ? "0x00007f0000456000UL" : "0x00456000UL");

/** Compiles and runs the program filling every struct for one width; returns the bytes. */
function gccStructs(width: 32 | 64): Uint8Array {
  const src = `#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <xen/xen.h>
#include <xen/memory.h>
#include <xen/grant_table.h>
#define OUT(x) fwrite(&(x), sizeof(x), 1, stdout)
int main(void) {
  multicall_entry_t m; memset(&m, 0, sizeof m);
  m.op = 26; for (int k = 0; k < 6; k++) m.args[k] = ${P1(width)} + k;
  OUT(m);
  struct xen_memory_reservation r; memset(&r, 0, sizeof r);
  set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)${P1(width)});
  r.nr_extents = 7; r.extent_order = 9; r.mem_flags = 0x1f20; r.domid = 0x7ff0;
  OUT(r);
  struct xen_memory_exchange x; memset(&x, 0, sizeof x);
  x.in = r; x.out = r; x.out.extent_order = 0; x.out.domid = 0;
  set_xen_guest_handle(x.out.extent_start, (xen_pfn_t *)(uintptr_t)${P2(width)});
  x.nr_exchanged = 5;
  OUT(x);
  struct gnttab_setup_table g; memset(&g, 0, sizeof g);
  g.dom = 0x7ff0; g.nr_frames = 4; g.status = -3;
  set_xen_guest_handle(g.frame_list, (xen_pfn_t *)(uintptr_t)${P2(width)});
  OUT(g);
  struct gnttab_copy c; memset(&c, 0, sizeof c);
  c.source.u.gmfn = ${width === 64 ? "0x123456789UL" : "0x23456789UL"};
  c.source.domid = 0x7ff0; c.source.offset = 0x10;
  c.dest.u.ref = 7; c.dest.domid = 1; c.dest.offset = 0x20; c.len = 0x100; c.flags = 2;
  OUT(c);
  struct xen_machphys_mapping mm;
  mm.v_start = ${width === 64 ? "0xffff800000000000UL" : "0xf5800000UL"};
  mm.v_end = ${width === 64 ? "0xffff804000000000UL" : "0xf6800000UL"};
  mm.max_mfn = ${width === 64 ? "(1UL << 35) - 1" : "0xfff"};
  OUT(mm);
  return 0;
}
`;
  const dir = Deno.makeTempDirSync({ prefix: "pvx-args-" });
  try {
    Deno.writeTextFileSync(`${dir}/a.c`, src);
    const cc = new Deno.Command("gcc", {
      args: [
        `-m${width}`,
        "-D__XEN_INTERFACE_VERSION__=0x00040e00",
        "-o",
        `${dir}/a`,
        `${dir}/a.c`,
      ],
    }).outputSync();
    assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
    return new Deno.Command(`${dir}/a`).outputSync().stdout;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

for (const width of [32, 64] as const) {
  Deno.test({
    name: `hypercall args (x86_${width}): gcc's structs read back field by field` + ignored,
    ignore: !have,
    fn() {
      const L = guestLayout(width);
      const all = gccStructs(width);
      let at = 0;
      const next = (size: number) => {
        const b = all.subarray(at, at + size);
        at += size;
        return b;
      };
      const p1: [number, number] = width === 64 ? [0x00123000, 0xffff8880] : [0x80123000, 0];
      const p2: [number, number] = width === 64 ? [0x00456000, 0x00007f00] : [0x00456000, 0];

      const mb = next(L.multicallEntry.size);
      const m = readMulticallEntry(L, mb)!;
      assert.deepEqual(m.op, [26, 0]);
      m.args.forEach((a, k) => assert.deepEqual(a, [p1[0] + k, p1[1]]));
      const [off, len] = writeMulticallResult(L, mb, -22);
      assert.deepEqual(
        [...mb.subarray(off, off + len)],
        new Array(len).fill(0xff).fill(0xea, 0, 1),
      );

      const r = readMemoryReservation(L, next(L.memoryReservation.size))!;
      assert.deepEqual(r, {
        extentStart: p1,
        nrExtents: [7, 0],
        extentOrder: 9,
        memFlags: 0x1f20,
        domid: 0x7ff0,
      });

      const x = readMemoryExchange(L, next(L.memoryExchange.size))!;
      assert.deepEqual(x.in, r);
      assert.deepEqual(x.out, { ...r, extentStart: p2, extentOrder: 0, domid: 0 });
      assert.deepEqual(x.nrExchanged, [5, 0]);

      const g = readGnttabSetupTable(L, next(L.gnttabSetupTable.size))!;
      assert.deepEqual(g, { dom: 0x7ff0, nrFrames: 4, status: -3, frameList: p2 });

      const c = readGnttabCopy(L, next(L.gnttabCopy.size))!;
      assert.deepEqual(c, {
        source: { u: width === 64 ? [0x23456789, 1] : [0x23456789, 0], domid: 0x7ff0, offset: 16 },
        dest: { u: [7, 0], domid: 1, offset: 0x20 },
        len: 0x100,
        flags: 2,
      });

      const mm = next(L.machphysMapping.size);
      assert.deepEqual([...machphysMapping(L, 0x1000)], [...mm], "XENMEM_machphys_mapping");
      assert.equal(at, all.length, "every struct's size is gcc's");
      assert.equal(readMulticallEntry(L, mb.subarray(1)), null, "short input");
    },
  });
}
