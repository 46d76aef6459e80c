/**
 * Each hypercall family, called by a real guest through the hypercall page, including
 * the rejection paths, with Xen's answers (the results come back via console_io).
 */
import assert from "node:assert/strict";
import * as E from "../../../lib/abi/errno.ts";
import * as X from "../../../lib/abi/xen.ts";
import { runScript } from "../_run.ts";
import type { Call } from "../_script_kernel.ts";
import { COPY, words } from "../_script_kernel.ts";
import { asMfn } from "../../../lib/abi/mod.ts";

const HOLE = 0xf6000000; // inside the hypervisor hole
const UNMAPPED = 0x80000000; // below the hole, mapped by nothing

async function expectResults(cases: [Call, number][], data = {}, align: string[] = []) {
  const { results } = await runScript(cases.map((c) => c[0]), data, align);
  cases.forEach(([c, want], i) =>
    assert.equal(results[i], want, `${c.name ?? `hypercall ${c.nr}`}: got ${results[i]}`)
  );
}

Deno.test("console_io writes, rejects bad pointers and unknown commands", async () => {
  await expectResults([
    [{ nr: 18, args: [0, 4, { at: "msg" }], name: "write" }, 0],
    [{ nr: 18, args: [0, 4, HOLE], name: "write from the hole" }, -E.EFAULT],
    [{ nr: 18, args: [0, 4, UNMAPPED], name: "write from unmapped" }, -E.EFAULT],
    [{ nr: 18, args: [7, 0, 0], name: "unknown cmd" }, -E.ENOSYS],
    [{ nr: 18, args: [1, 16, { at: "msg" }], name: "read with no input" }, 0],
    [{ nr: 18, args: [1, 16, UNMAPPED], name: "read into unmapped memory" }, -E.EFAULT],
    [{ nr: 18, args: [1, -1, { at: "msg" }], name: "read a negative count" }, -E.EINVAL],
  ], { msg: new TextEncoder().encode("abcd") });
});

Deno.test("xen_version answers 4.17 and refuses privileged and unknown subops", async () => {
  await expectResults([
    [{ nr: 17, args: [0] }, (4 << 16) | 17],
    [{ nr: 17, args: [7] }, 4096],
    [{ nr: 17, args: [1, { at: "buf" }], name: "extraversion" }, 0],
    [{ nr: 17, args: [6, { at: "feat" }], name: "get_features submap 0" }, 0],
    [{ nr: 17, args: [6, { at: "feat1" }], name: "get_features submap 1" }, -E.EINVAL],
    [{ nr: 17, args: [9, { at: "buf" }], name: "commandline" }, -E.EPERM],
    [{ nr: 17, args: [3, UNMAPPED], name: "capabilities to unmapped" }, -E.EFAULT],
    [{ nr: 17, args: [99] }, -E.ENOSYS],
  ], { buf: new Uint8Array(1024), feat: words(0, 0), feat1: words(1, 0) });
});

Deno.test("vm_assist, stack_switch, fpu_taskswitch, debug registers", async () => {
  await expectResults([
    [{ nr: 21, args: [0, X.VMASST_TYPE_writable_pagetables] }, 0],
    [{ nr: 21, args: [1, X.VMASST_TYPE_writable_pagetables] }, 0],
    [{ nr: 21, args: [0, X.VMASST_TYPE_m2p_strict], name: "m2p_strict (64-bit only)" }, -E.EINVAL],
    [{ nr: 21, args: [5, 2], name: "bad vm_assist cmd" }, -E.ENOSYS],
    [{ nr: 3, args: [0xe021, 0xc0100000] }, 0],
    [{ nr: 5, args: [1] }, 0],
    [{ nr: 5, args: [0] }, 0],
    [{ nr: 8, args: [7, 0x400] }, 0],
    [{ nr: 9, args: [7] }, 0x400],
    [{ nr: 8, args: [0, 0xc0001000] }, 0],
    [{ nr: 9, args: [0] }, 0xc0001000 | 0],
    // Xen 4.17's __addr_ok sees the zero-extended 32-bit value: below 2^47, accepted
    [{ nr: 8, args: [0, HOLE], name: "breakpoint in the hole" }, 0],
    [{ nr: 8, args: [7, 0x2400], name: "DR7.GD" }, -E.EPERM],
    [{ nr: 8, args: [7, 0x20401], name: "I/O breakpoint" }, -E.EPERM],
    [{ nr: 8, args: [8, 0] }, -E.ENODEV],
    [{ nr: 9, args: [9] }, -E.ENODEV],
  ]);
});

Deno.test("set_trap_table, set_callbacks, callback_op and nmi_op", async () => {
  await expectResults([
    [{ nr: 0, args: [{ at: "traps" }] }, 0],
    [{ nr: 0, args: [UNMAPPED], name: "trap table unmapped" }, -E.EFAULT],
    [{ nr: 0, args: [0], name: "clear" }, 0],
    [{ nr: 4, args: [0xe019, 0xc0001000, 0xe019, 0xc0001000] }, 0],
    [{ nr: 30, args: [0, { at: "cbEvent" }], name: "register event" }, 0],
    [{ nr: 30, args: [0, { at: "cbBad" }], name: "register type 9" }, -E.ENOSYS],
    [{ nr: 30, args: [1, { at: "unregEvent" }], name: "unregister event" }, -E.EINVAL],
    [{ nr: 30, args: [1, { at: "unregNmi" }], name: "unregister nmi" }, 0],
    [{ nr: 30, args: [5, 0] }, -E.ENOSYS],
    [{ nr: 30, args: [0, HOLE] }, -E.EFAULT],
    [{ nr: 28, args: [0, { at: "nmi" }] }, 0],
    [{ nr: 28, args: [1, 0] }, 0],
    [{ nr: 28, args: [2, 0] }, -E.ENOSYS],
  ], {
    traps: words(
      0x0000000e | (0xe019 << 16),
      0xc0001000,
      0x0000000d | (0xe019 << 16),
      0xc0001000,
      0,
      0,
    ),
    cbEvent: words(0, 0xe019, 0xc0001000),
    cbBad: words(9, 0xe019, 0xc0001000),
    unregEvent: words(0),
    unregNmi: words(4),
    nmi: words(0xc0001000, 0),
  });
});

Deno.test("sched_op and sched_op_compat: yield, shutdown_code, remote shutdown, unknown", async () => {
  await expectResults([
    [{ nr: 29, args: [0, 0] }, 0],
    [{ nr: 6, args: [0, 0], name: "compat yield" }, 0],
    [{ nr: 6, args: [9, 0], name: "compat unknown" }, -E.ENOSYS],
    [{ nr: 29, args: [5, { at: "code" }], name: "shutdown_code" }, 0],
    [{ nr: 29, args: [4, { at: "remote" }], name: "remote_shutdown of no domain" }, -E.ESRCH],
    [
      { nr: 29, args: [4, { at: "remoteSelf" }], name: "remote_shutdown (not a device model)" },
      -E.EPERM,
    ],
    [{ nr: 29, args: [2, UNMAPPED], name: "shutdown with a bad pointer" }, -E.EFAULT],
    [{ nr: 29, args: [7, 0], name: "pin_override" }, -E.EPERM],
    [{ nr: 29, args: [6, { at: "wd" }], name: "watchdog new" }, 1],
    [{ nr: 29, args: [6, { at: "wdBad" }], name: "watchdog id 3" }, -E.EINVAL],
    [{ nr: 29, args: [6, { at: "wdStop" }], name: "watchdog stop" }, 0],
    [{ nr: 29, args: [99, 0] }, -E.ENOSYS],
    [{ nr: 29, args: [5, { at: "code0" }], name: "shutdown_code back to poweroff" }, 0],
  ], {
    code: words(1),
    code0: words(0),
    remote: words(42, 0),
    remoteSelf: words(1, 0),
    wd: words(0, 1000),
    wdBad: words(3, 10),
    wdStop: words(1, 0),
  });
});

Deno.test("vcpu_op and set_timer_op: status, timers and their checks", async () => {
  await expectResults([
    [{ nr: 24, args: [3, 0, 0], name: "is_up" }, 1],
    [{ nr: 24, args: [3, 5, 0], name: "no vcpu 5" }, -E.ENOENT],
    [{ nr: 24, args: [6, 0, { at: "tiny" }], name: "periodic 100 ns" }, -E.EINVAL],
    [{ nr: 24, args: [6, 0, { at: "ms10" }], name: "periodic 10 ms" }, 0],
    [{ nr: 24, args: [7, 0, 0], name: "stop periodic" }, 0],
    [
      { nr: 24, args: [8, 0, { at: "past" }], name: "singleshot in the past, future flag" },
      -E.ETIME,
    ],
    [{ nr: 24, args: [9, 0, 0], name: "stop singleshot" }, 0],
    [{ nr: 24, args: [4, 0, { at: "runstate" }], name: "runstate info" }, 0],
    [{ nr: 24, args: [12, 0, 0], name: "get_physid" }, -E.EINVAL],
    [{ nr: 24, args: [0, 0, 0], name: "initialise an initialised vcpu" }, -E.EEXIST],
    [{ nr: 24, args: [77, 0, 0] }, -E.ENOSYS],
    [{ nr: 15, args: [0, 0], name: "set_timer_op stop" }, 0],
    [{ nr: 15, args: [1_000_000_000, 0], name: "set_timer_op 1 s" }, 0],
  ], {
    tiny: words(100, 0),
    ms10: words(10_000_000, 0),
    past: words(1, 0, 1),
    runstate: new Uint8Array(44),
  });
});

Deno.test("memory_op: reservations, queries, M2P location, memory map, translated-only ops", async () => {
  const pages = 8 * 256;
  await expectResults([
    [{ nr: 12, args: [4, { at: "self" }], name: "maximum_reservation" }, pages],
    [{ nr: 12, args: [3, { at: "self" }], name: "current_reservation" }, pages],
    [{ nr: 12, args: [4, { at: "other" }], name: "maximum_reservation of dom 9" }, -E.ESRCH],
    [{ nr: 12, args: [14, { at: "self" }], name: "maximum_gpfn before the guest sets max_pfn" }, 0],
    [{ nr: 12, args: [12, { at: "buf" }], name: "machphys_mapping" }, 0],
    [{ nr: 12, args: [5, { at: "mfnlist0" }], name: "machphys_mfn_list, 0 extents" }, 0],
    [{ nr: 12, args: [5, { at: "mfnlist" }], name: "machphys_mfn_list to a null list" }, -E.EFAULT],
    [{ nr: 12, args: [9, { at: "map0" }], name: "memory_map, 0 entries" }, 0],
    [{ nr: 12, args: [9, { at: "map" }], name: "memory_map to a null buffer" }, -E.EFAULT],
    [{ nr: 12, args: [7, { at: "xatp" }], name: "add_to_physmap (PV)" }, -E.EACCES],
    [{ nr: 12, args: [13, 0], name: "set_memory_map" }, -E.EPERM],
    [{ nr: 12, args: [0, { at: "inc" }], name: "increase at the limit" }, 0],
    [{ nr: 12, args: [6, { at: "bigorder" }], name: "populate order 10" }, 0],
    [{ nr: 12, args: [1, { at: "dec" }], name: "decrease a foreign frame" }, 0],
    [{ nr: 12, args: [0, UNMAPPED], name: "reservation unmapped" }, -E.EFAULT],
    [{ nr: 12, args: [99, 0] }, -E.ENOSYS],
  ], {
    self: words(0x7ff0),
    other: words(9),
    buf: new Uint8Array(12),
    mfnlist: words(4, 0, 0),
    mfnlist0: words(0, 0, 0),
    map: words(1, 0),
    map0: words(0, 0),
    xatp: words(0x7ff0, 0, 0, 0),
    inc: words(0, 1, 0, 0, 0x7ff0),
    bigorder: words(0, 1, 10, 0, 0x7ff0),
    dec: words(0, 1, 0, 0, 0x7ff0),
  });
});

Deno.test("event_channel_op (and _compat): allocation, VIRQs, errors", async () => {
  await expectResults([
    [{ nr: 32, args: [6, { at: "unbound" }], name: "alloc_unbound" }, 0],
    [{ nr: 32, args: [1, { at: "virqTimer" }], name: "bind_virq TIMER" }, 0],
    [{ nr: 32, args: [1, { at: "virqTimer" }], name: "bind_virq TIMER again" }, -E.EEXIST],
    [{ nr: 32, args: [1, { at: "virqBad" }], name: "bind_virq 99" }, -E.EINVAL],
    [{ nr: 32, args: [3, { at: "port1000" }], name: "close a free port" }, -E.EINVAL],
    [{ nr: 32, args: [4, { at: "port1000" }], name: "send on a free port" }, -E.EINVAL],
    [{ nr: 32, args: [5, { at: "status" }], name: "status" }, 0],
    [{ nr: 32, args: [11, 0], name: "init_control from address 0" }, -E.EFAULT],
    [{ nr: 32, args: [12, { at: "expand" }], name: "expand_array before init" }, -E.EOPNOTSUPP],
    [{ nr: 32, args: [11, { at: "initBadGfn" }], name: "init_control, bad frame" }, -E.EINVAL],
    [{ nr: 32, args: [11, { at: "initBadVcpu" }], name: "init_control, vcpu 5" }, -E.ENOENT],
    [{ nr: 32, args: [13, { at: "prio" }], name: "set_priority while 2-level" }, -E.ENOSYS],
    [{ nr: 32, args: [2, { at: "pirq" }], name: "bind_pirq" }, -E.EPERM],
    [{ nr: 32, args: [6, UNMAPPED] }, -E.EFAULT],
    [{ nr: 32, args: [99, 0] }, -E.ENOSYS],
    [{ nr: 16, args: [{ at: "compat" }], name: "compat status" }, 0],
  ], {
    unbound: words(0x7ff0, 0),
    virqTimer: words(0, 0, 0),
    virqBad: words(99, 0, 0),
    port1000: words(1000),
    status: words(0x7ff0, 1, 0, 0, 0, 0),
    pirq: words(1, 0, 0),
    compat: words(5, 0x7ff0, 1, 0, 0, 0, 0),
    expand: words(1, 0),
    initBadGfn: words(0xfffffffe, 0xffffffff, 0, 0, 0, 0),
    initBadVcpu: words(1, 0, 0, 5, 0, 0),
    prio: words(1, 3),
  });
});

Deno.test("grant_table_op: query_size, setup_table, versions, count checks", async () => {
  await expectResults([
    [{ nr: 20, args: [6, { at: "query" }, 1], name: "query_size" }, 0],
    [{ nr: 20, args: [6, { at: "query" }, 2], name: "query_size count 2" }, -E.EINVAL],
    [{ nr: 20, args: [6, { at: "query" }, -1], name: "negative count" }, -E.EINVAL],
    [{ nr: 20, args: [2, { at: "setup" }, 1], name: "setup_table" }, 0],
    [{ nr: 20, args: [8, { at: "v2" }, 1], name: "set_version 2" }, 0],
    [{ nr: 20, args: [8, { at: "v1" }, 1], name: "set_version 1" }, 0],
    [{ nr: 20, args: [3, 0, 1], name: "dump_table" }, -E.ENOSYS],
    [{ nr: 20, args: [99, 0, 1] }, -E.ENOSYS],
    [{ nr: 20, args: [6, UNMAPPED, 1] }, -E.EFAULT],
  ], {
    query: words(0x7ff0, 0, 0, 0),
    setup: new Uint8Array(16),
    v1: words(1),
    v2: words(2),
  });
});

Deno.test("grant_table_op v2 from a 32-bit guest: set/get_version, get_status_frames", async () => {
  const { results, output, machine } = await runScript([
    { nr: 20, args: [8, { at: "v2" }, 1], name: "set_version 2" },
    { nr: 20, args: [10, { at: "gv" }, 1], name: "get_version" },
    { nr: 20, args: [9, { at: "gsf" }, 1], name: "get_status_frames 1" },
    { nr: 20, args: [9, { at: "gsf2" }, 1], name: "get_status_frames 2" },
    { nr: 20, args: [9, { at: "gsf" }, 2], name: "get_status_frames count 2" },
    { nr: 20, args: [8, { at: "v3" }, 1], name: "set_version 3" },
    { nr: 20, args: [9, { at: "gsfHole" }, 1], name: "frame list in the hypervisor hole" },
    { nr: 20, args: [9, { at: "gsfHuge" }, 1], name: "2^31 frames" },
    { nr: 20, args: [9, { at: "gsfUnmapped" }, 1], name: "frame list unmapped" },
    { nr: 18, args: [0, 8, { at: "list" }], name: "print the frame list" },
    { nr: 18, args: [0, 12, { at: "gsf" }] },
    { nr: 18, args: [0, 12, { at: "gsf2" }] },
    { nr: 18, args: [0, 8, { at: "gv" }] },
    { nr: 18, args: [0, 4, { at: "v3" }] },
  ], {
    v2: words(2),
    gv: words(0x7ff0, 0),
    // nr_frames, dom | status << 16, frame_list (a 4-byte handle of uint64_t)
    gsf: [1, 0x7ff0, { at: "list" }],
    gsf2: [2, 0x7ff0, { at: "list" }],
    list: words(0xdead, 0xbeef),
    v3: words(3),
    // the compat layer: a list beyond the guest's space is -EFAULT; faults writing an
    // unmapped one are ignored (status stays GNTST_okay)
    gsfHole: [1, 0x7ff0, HOLE],
    gsfHuge: [0x80000000, 0x7ff0, { at: "list" }],
    gsfUnmapped: [1, 0x7ff0, UNMAPPED],
  });
  assert.deepEqual(results.slice(0, 9), [
    0,
    0,
    0,
    0,
    -E.EINVAL,
    -E.EINVAL,
    -E.EFAULT,
    -E.EFAULT,
    0,
  ]);
  const dv = new DataView(output.buffer, output.byteOffset, 44);
  const status = machine.domain.gnttab!.statusMfns();
  assert.equal(status.length, 1);
  assert.equal(dv.getUint32(0, true), status[0], "the status frame's mfn");
  assert.equal(dv.getUint32(4, true), 0, "a uint64_t: high half 0");
  assert.equal(dv.getInt16(8 + 6, true), 0, "status GNTST_okay");
  assert.equal(dv.getInt16(20 + 6, true), -1, "2 frames of 1: GNTST_general_error");
  assert.equal(dv.getUint32(32 + 4, true), 2, "get_version: 2");
  assert.equal(dv.getUint32(40, true), 2, "set_version writes the version in force back");
});

Deno.test("physdev_op (and _compat) as for a domU without devices", async () => {
  await expectResults([
    [{ nr: 33, args: [6, { at: "iopl1" }], name: "set_iopl 1" }, 0],
    [{ nr: 33, args: [6, { at: "iopl4" }], name: "set_iopl 4" }, -E.EINVAL],
    [{ nr: 33, args: [8, 0], name: "apic_read" }, -E.EPERM],
    [{ nr: 33, args: [13, 0], name: "map_pirq" }, -E.EPERM],
    [{ nr: 33, args: [5, { at: "irq99" }], name: "irq_status_query 99" }, -E.EINVAL],
    [{ nr: 33, args: [77, 0] }, -E.ENOSYS],
    [{ nr: 19, args: [{ at: "compat" }], name: "compat set_iopl" }, 0],
  ], { iopl1: words(1), iopl4: words(4), irq99: words(99, 0), compat: words(6, 1) });
});

Deno.test("MMU hypercalls: batches, foreign domains, flush ops, the hypervisor hole", async () => {
  await expectResults([
    [{ nr: 1, args: [{ at: "buf" }, 0, 0, 0x7ff0], name: "mmu_update count 0" }, 0],
    [{ nr: 1, args: [UNMAPPED, 1, 0, 0x7ff0], name: "mmu_update unmapped" }, -E.EFAULT],
    [{ nr: 1, args: [{ at: "buf" }, 1, 0, 5], name: "mmu_update foreigndom 5" }, -E.ESRCH],
    [{ nr: 26, args: [{ at: "flush" }, 1, 0, 0x7ff0], name: "TLB_FLUSH_LOCAL" }, 0],
    [{ nr: 26, args: [{ at: "cache" }, 1, 0, 0x7ff0], name: "FLUSH_CACHE" }, -E.EACCES],
    [{ nr: 26, args: [{ at: "bad" }, 1, 0, 0x7ff0], name: "mmuext 99" }, -E.ENOSYS],
    [{ nr: 14, args: [HOLE, 0, 0, 0], name: "update_va_mapping in the hole" }, -E.EINVAL],
    [{ nr: 22, args: [0xc0400000, 0, 0, 0, 7], name: "otherdomain 7" }, -E.ESRCH],
    [{ nr: 2, args: [{ at: "buf" }, 8000], name: "set_gdt too many" }, -E.EINVAL],
    [{ nr: 2, args: [{ at: "gdtBad" }, 16], name: "set_gdt foreign frame" }, -E.EINVAL],
    [{ nr: 10, args: [4, 0, 0, 0], name: "update_descriptor unaligned" }, -E.EINVAL],
  ], {
    buf: new Uint8Array(32),
    flush: words(X.MMUEXT_TLB_FLUSH_LOCAL, 0, 0),
    cache: words(X.MMUEXT_FLUSH_CACHE, 0, 0),
    bad: words(99, 0, 0),
    gdtBad: words(0),
  });
});

Deno.test("multicall runs each entry and records its result; nesting is refused", async () => {
  const { results, output } = await runScript([
    { nr: 13, args: [{ at: "batch" }, 3] },
    { nr: 13, args: [{ at: "batch", plus: 96 }, 1] },
    { nr: 13, args: [UNMAPPED, 1] },
    { nr: 18, args: [0, 4 * 32, { at: "batch" }], name: "print the batch" },
  ], {
    // xen_version(0); hypercall 99; vm_assist(enable, writable_pagetables); then the
    // "nested" entry: a multicall inside a multicall (its own table is this one).
    batch: words(
      ...[17, 0, 0, 0, 0, 0, 0, 0],
      ...[99, 0, 0, 0, 0, 0, 0, 0],
      ...[21, 0, 0, 2, 0, 0, 0, 0],
      ...[13, 0, 0, 0, 0, 0, 0, 0],
    ),
  });
  assert.deepEqual(results, [0, 0, -E.EFAULT, 0]);
  // The batch as the guest sees it afterwards: each entry's result at offset 4.
  const dv = new DataView(output.buffer, output.byteOffset, 32 * 4);
  assert.equal(dv.getInt32(4, true), (4 << 16) | 17, "xen_version in the batch");
  assert.equal(dv.getInt32(32 + 4, true), -E.ENOSYS, "hypercall 99 in the batch");
  assert.equal(dv.getInt32(64 + 4, true), 0, "vm_assist in the batch");
  assert.equal(dv.getInt32(96 + 4, true), -E.EINVAL, "nested multicall");
});

Deno.test("privileged, HVM-only and unknown hypercalls are refused as for a domU", async () => {
  await expectResults([
    [{ nr: 7, args: [{ at: "pf" }], name: "platform_op" }, -E.EPERM],
    [{ nr: 7, args: [{ at: "pfOld" }], name: "platform_op, old interface" }, -E.EACCES],
    [{ nr: 7, args: [UNMAPPED], name: "platform_op, bad pointer" }, -E.EFAULT],
    [{ nr: 35, args: [{ at: "sysctl" }], name: "sysctl" }, -E.EPERM],
    [{ nr: 36, args: [{ at: "domctl" }], name: "domctl" }, -E.EPERM],
    [{ nr: 37, name: "kexec_op" }, -E.EPERM],
    [{ nr: 41, args: [0x7ff0, 0, 0], name: "dm_op on itself" }, -E.EPERM],
    [{ nr: 41, args: [9, 0, 0], name: "dm_op on no domain" }, -E.ESRCH],
    [{ nr: 41, args: [9, 3, 0], name: "dm_op, 3 buffers" }, -E.E2BIG],
    [{ nr: 42, name: "hypfs_op" }, -E.EPERM],
    [{ nr: 40, name: "xenpmu_op" }, -E.EOPNOTSUPP],
    [{ nr: 34, args: [99, 0], name: "hvm_op 99" }, -E.ENOSYS],
    [{ nr: 34, args: [1, { at: "param" }], name: "hvm_op get_param of a PV domain" }, -E.EINVAL],
    [{ nr: 34, args: [1, { at: "paramOther" }], name: "hvm_op get_param of dom 9" }, -E.ESRCH],
    [{ nr: 34, args: [1, { at: "paramBig" }], name: "hvm_op get_param 39" }, -E.EINVAL],
    [{ nr: 34, args: [10, { at: "time" }], name: "hvm_op get_time" }, 0],
    [{ nr: 34, args: [11, { at: "xt" }], name: "hvm_op xentrace" }, 0],
    [{ nr: 34, args: [25, 0], name: "hvm_op altp2m" }, -E.EOPNOTSUPP],
    [{ nr: 25, name: "set_segment_base" }, -E.ENOSYS],
    [{ nr: 27, name: "xsm_op" }, -E.ENOSYS],
    [{ nr: 11, name: "unused 11" }, -E.ENOSYS],
    [{ nr: 60, name: "unused 60" }, -E.ENOSYS],
  ], {
    pf: new Uint8Array([1, 0, 0, 0, 1, 0, 0, 3, ...new Uint8Array(128)]),
    pfOld: new Uint8Array(136),
    sysctl: new Uint8Array([1, 0, 0, 0, 0x15, 0, 0, 0, ...new Uint8Array(128)]),
    domctl: new Uint8Array([1, 0, 0, 0, 0x15, 0, 0, 0, ...new Uint8Array(136)]),
    param: words(0x7ff0, 2, 0, 0),
    paramOther: words(9, 2, 0, 0),
    paramBig: words(0x7ff0, 39, 0, 0),
    time: new Uint8Array(8),
    xt: words(0x00040005, 1, 2, 0, 0, 0, 0, 0),
  });
});

Deno.test("memory_op: a page given back with decrease_reservation can be taken again", async () => {
  const probe = () => [
    { nr: 12, args: [1, { at: "dec" }], name: "decrease pfn 2047's frame" },
    { nr: 12, args: [3, { at: "self" }], name: "current after decrease" },
    { nr: 12, args: [1, { at: "dec" }], name: "decrease it again" },
    { nr: 12, args: [0, { at: "inc" }], name: "increase by one" },
    { nr: 12, args: [3, { at: "self" }], name: "current after increase" },
    { nr: 12, args: [0, { at: "inc" }], name: "increase beyond the maximum" },
  ];
  const data = (mfn: number) => ({
    self: words(0x7ff0),
    one: words(mfn),
    got: words(0),
    dec: [{ at: "one" }, 1, 0, 0, 0x7ff0],
    inc: [{ at: "got" }, 1, 0, 0, 0x7ff0],
  });
  // Frame numbers are deterministic: learn pfn 2047's from a first run, then use it.
  const first = await runScript(probe(), data(0));
  const mfn = first.machine.domain.mfnOf(2047);
  const { results, machine } = await runScript(probe(), data(mfn));
  assert.equal(machine.domain.mfnOf(2047), 0xffffffff, "pfn 2047 is a hole now");
  assert.deepEqual(results, [1, 2047, 0, 1, 2048, 0]);
});

Deno.test("long batches continue themselves: a 10,000-entry multicall, mmu_update's pdone", async () => {
  const n = 10_000;
  const batch: number[] = [];
  for (let i = 0; i < n; i++) batch.push(17, 0xdead, 0, 0, 0, 0, 0, 0); // xen_version(0)
  const m2p: number[] = [];
  for (let i = 0; i < n; i++) m2p.push(0, 0, 0, 0); // filled below: MMU_MACHPHYS_UPDATE
  const first = await runScript([{ nr: 12, args: [2, 0] }], {});
  const frames = first.machine.host.frames;
  const mfn = first.machine.domain.mfnOf(5);
  for (let i = 0; i < n; i++) {
    m2p[i * 4] = (mfn * 4096 + 1) >>> 0; // ptr: machine address | MMU_MACHPHYS_UPDATE
    m2p[i * 4 + 2] = 5; // val: pfn 5
  }
  assert.ok(frames.count > 0);
  const { results, output } = await runScript([
    { nr: 13, args: [{ at: "batch" }, n], name: "multicall" },
    { nr: 1, args: [{ at: "m2p" }, n, { at: "pdone" }, 0x7ff0], name: "mmu_update" },
    { nr: 18, args: [0, 4, { at: "pdone" }], name: "print pdone" },
    { nr: 18, args: [0, 8, { at: "batch", plus: (n - 1) * 32 }], name: "print the last entry" },
  ], {
    batch: words(...batch),
    m2p: words(...m2p),
    pdone: words(0),
  });
  assert.deepEqual(results, [0, 0, 0, 0]);
  const dv = new DataView(output.buffer, output.byteOffset);
  assert.equal(dv.getUint32(0, true), n, "pdone counts across continuations");
  assert.equal(dv.getUint32(4, true), 17);
  assert.equal(dv.getInt32(8, true), (4 << 16) | 17, "the last entry's result");
});

Deno.test("memory_op exchange and vcpu_op register_vcpu_info move frames as Xen does", async () => {
  const calls = [
    { nr: 12, args: [11, { at: "exch" }], name: "exchange one page" },
    { nr: 24, args: [10, 0, { at: "vinfo" }], name: "register_vcpu_info" },
    { nr: 24, args: [10, 0, { at: "vinfo" }], name: "register_vcpu_info twice" },
    { nr: 24, args: [10, 0, { at: "vinfoBad" }], name: "register_vcpu_info past the page" },
  ];
  const data = (mfnIn: number, mfnInfo: number) => ({
    inList: words(mfnIn),
    outList: words(1000), // gpfn for the new page
    // in { list, nr 1, order 0, flags 0, domid SELF }, out { ... }, nr_exchanged 0
    exch: [
      { at: "inList" },
      1,
      0,
      0,
      0x7ff0,
      { at: "outList" },
      1,
      0,
      0,
      0x7ff0,
      0,
    ],
    vinfo: words(mfnInfo, 0, 128, 0),
    vinfoBad: words(mfnInfo, 0, 4090, 0),
  });
  // pfn 1500 (unmapped, unused) is given up; pfn 1501's frame takes vcpu_info.
  const probe = await runScript(calls, data(0, 0));
  const inMfn = probe.machine.domain.mfnOf(1500);
  const infoMfn = probe.machine.domain.mfnOf(1501);
  const { results, machine } = await runScript(calls, data(inMfn, infoMfn));
  assert.deepEqual(results, [0, 0, -E.EINVAL, -E.EINVAL]);
  const f = machine.host.frames;
  assert.equal(f.isOwnedBy(inMfn, machine.domain.domid), false, "the old page is gone");
  assert.equal(machine.domain.vcpus[0].vcpuInfoMaddr, infoMfn * 4096 + 128);
  // The upcall mask came along (still 1: events masked since boot).
  assert.equal(machine.host.mem.u8[infoMfn * 4096 + 128 + 1], 1);
});

Deno.test("memory_op extents of order > 0 are contiguous, aligned blocks", async () => {
  const calls = [
    { nr: 12, args: [1, { at: "dec" }], name: "give back 4 pages" },
    { nr: 12, args: [0, { at: "inc" }], name: "one order-2 extent" },
    { nr: 12, args: [3, { at: "self" }], name: "current" },
    { nr: 12, args: [11, { at: "exch" }], name: "exchange 4 pages for an order-2 extent" },
    { nr: 18, args: [0, 4, { at: "got" }], name: "print the increase's mfn" },
    { nr: 18, args: [0, 4, { at: "exOut" }], name: "print the exchange's mfn" },
  ];
  const data = (dec: number[], ex: number[]) => ({
    self: words(0x7ff0),
    decList: words(...dec),
    got: words(0),
    exIn: words(...ex),
    exOut: words(1024),
    dec: [{ at: "decList" }, 4, 0, 0, 0x7ff0],
    inc: [{ at: "got" }, 1, 2, 0, 0x7ff0],
    exch: [{ at: "exIn" }, 4, 0, 0, 0x7ff0, { at: "exOut" }, 1, 2, 0, 0x7ff0, 0],
  });
  const probe = await runScript(calls, data([0, 0, 0, 0], [0, 0, 0, 0]));
  const pd = probe.machine.domain;
  const dec = [2044, 2045, 2046, 2047].map((p) => pd.mfnOf(p));
  const ex = [1500, 1501, 1502, 1503].map((p) => pd.mfnOf(p));
  const { results, output, machine } = await runScript(calls, data(dec, ex));
  assert.deepEqual(results, [4, 1, 2048, 0, 0, 0]);
  const dv = new DataView(output.buffer, output.byteOffset);
  const inc = dv.getUint32(0, true), exch = dv.getUint32(4, true);
  assert.equal(inc % 4, 0, "aligned");
  assert.equal(exch % 4, 0, "aligned");
  const f = machine.host.frames;
  for (let j = 0; j < 4; j++) {
    assert.ok(f.isOwnedBy(inc + j, machine.domain.domid));
    assert.ok(f.isOwnedBy(exch + j, machine.domain.domid));
    assert.equal(f.m2p.get(asMfn(exch + j)), 1024 + j, "M2P of the exchanged extent");
    assert.equal(f.isOwnedBy(ex[j], machine.domain.domid), false, "input pages given up");
  }
});

Deno.test("grant_table_op: a guest maps its own grant into its page tables and unmaps it", async () => {
  const VA_GT = 0xc0030000, VA_T = 0xc0031000;
  const calls = (gtMfn: number) => [
    { nr: 14, args: [VA_GT, gtMfn * 4096 + 7, 0, 2], name: "map the grant table frame" },
    { nr: COPY, args: [VA_GT + 8, { at: "gent" }, 8], name: "write grant entry 1" },
    { nr: 20, args: [0, { at: "map" }, 1], name: "map_grant_ref (host_map, readonly)" },
    { nr: COPY, args: [{ at: "out" }, VA_T, 4], name: "read through the grant mapping" },
    { nr: 20, args: [1, { at: "unmap" }, 1], name: "unmap_grant_ref" },
    {
      nr: 18,
      args: [0, 68, { at: "map" }],
      name: "print map, unmap, out (16-byte aligned blocks)",
    },
  ];
  const data = (pMfn: number) => ({
    gent: words(1 | (1 << 16), pMfn), // GTF_permit_access, to domain 1, frame
    map: words(VA_T, 0, 2 | 4, 1, 1, 0, 0, 0), // host_addr, flags, ref 1, dom 1
    unmap: words(VA_T, 0, 0, 0, 0, 0), // host_addr, dev_bus_addr, handle 0
    out: words(0),
  });
  const probe = await runScript(calls(0), data(0));
  const gtMfn = probe.machine.domain.gnttab!.frameMfn(0);
  const pMfn = probe.machine.domain.mfnOf(0); // the hypercall page: known bytes
  const { results, output } = await runScript(calls(gtMfn), data(pMfn));
  assert.deepEqual(results, [0, 0, 0, 0, 0, 0]);
  const dv = new DataView(output.buffer, output.byteOffset);
  assert.equal(dv.getInt16(18, true), 0, "map status GNTST_okay");
  assert.equal(dv.getInt16(32 + 20, true), 0, "unmap status GNTST_okay");
  assert.equal(dv.getUint32(64, true), 0x000000b8, "the granted page seen through the mapping");
});
