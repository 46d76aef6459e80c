/**
 * The run loop's idle handling: a blocked guest fast-forwards virtual time to its next
 * timer (periodic VIRQ_TIMER ticks, SCHEDOP_poll timeouts) instead of spinning, and the
 * whole run is deterministic.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { EBX, ECX, EDX, ESI, kernelImage } from "../_image.ts";
import { ByteSink } from "../_run.ts";
import { runScript } from "../_run.ts";
import { words } from "../_script_kernel.ts";

const SI_VA = 0xc0020000;

/** Blocks until 100 ticks of a 10 ms periodic timer have been handled. */
function tickKernel(): Uint8Array {
  return kernelImage((a, hp) => {
    a.db(0x8b, 0x56, 0x24, 0x83, 0xca, 0x07); // edx = start_info.shared_info | 7
    a.movImm(EBX, SI_VA).db(0x89, 0xd1).movImm(EDX, 0).movImm(ESI, 2).hypercall(hp, 14);
    a.movImm(EBX, 0xe019).movLabel(ECX, "evt").movImm(EDX, 0xe019).movLabel(ESI, "evt");
    a.hypercall(hp, 4);
    a.movImm(EBX, 1).movLabel(ECX, "bindvirq").hypercall(hp, 32);
    a.movImm(EBX, 6).movImm(ECX, 0).movLabel(EDX, "period").hypercall(hp, 24);
    a.label("loop");
    a.movImm(EBX, 1).movImm(ECX, 0).hypercall(hp, 29); // SCHEDOP_block
    a.db(0x83, 0x3d).ddLabel("ticks").db(100); // cmp dword [ticks],100
    a.db(0x0f, 0x8c).ddRel("loop"); // jl loop
    a.movImm(EBX, 0).movImm(ECX, 4).movLabel(EDX, "ticks").hypercall(hp, 18);
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.label("spin").jmpLabel("spin");
    a.label("evt");
    a.db(0xff, 0x05).ddLabel("ticks"); // inc dword [ticks]
    a.db(0xc6, 0x05).dd(SI_VA).db(0); // evtchn_upcall_pending = 0
    a.db(0xc7, 0x05).dd(SI_VA + 4).dd(0); // evtchn_pending_sel = 0
    a.db(0xc7, 0x05).dd(SI_VA + 2048).dd(0); // evtchn_pending[0] = 0
    a.db(0xe9).dd(hp + 23 * 32 - (a.here + 4)); // iret
    a.align(4).label("ticks").dd(0).label("zero").dd(0);
    a.label("period").dd(10_000_000).dd(0);
    a.label("bindvirq").dd(0).dd(0).dd(0);
  }, { bss: 0x30000 });
}

Deno.test("a blocked guest fast-forwards to its periodic timer: 100 ticks of 10 ms", async () => {
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const sink = new ByteSink();
    const m = new Machine({
      image: tickKernel(),
      memoryMiB: 8,
      console: sink,
      maxInstructions: 1e6,
    });
    const r = await m.run();
    assert.equal(r.reason, "poweroff", r.dump);
    assert.equal(new DataView(sink.bytes().buffer).getUint32(0, true), 100);
    const now = m.host.clock.nowNs();
    assert.ok(now >= 1e9 && now < 1.02e9, `virtual time ${now} ns`);
    assert.ok(r.instructions < 50_000, `${r.instructions} instructions`);
    runs.push([r.instructions, now]);
  }
  assert.deepEqual(runs[0], runs[1], "deterministic");
});

Deno.test("SCHEDOP_poll blocks until its timeout when no port becomes pending", async () => {
  const { results, machine } = await runScript([
    { nr: 32, args: [6, { at: "unbound" }], name: "alloc_unbound" },
    { nr: 29, args: [3, { at: "poll" }], name: "poll port 3, timeout 0.5 s" },
    { nr: 29, args: [3, { at: "pollBad" }], name: "poll 200 ports" },
  ], {
    unbound: words(0x7ff0, 0, 0),
    port: words(3),
    poll: [{ at: "port" }, 1, 500_000_000, 0],
    pollBad: words(0, 200, 0, 0),
  });
  assert.deepEqual(results, [0, 0, -22]);
  assert.ok(machine.host.clock.nowNs() >= 500_000_000);
});

Deno.test("the runstate area tracks blocked and running time", async () => {
  const { results, machine } = await runScript([
    { nr: 24, args: [5, 0, { at: "area" }], name: "register_runstate_memory_area" },
    { nr: 32, args: [6, { at: "unbound" }], name: "alloc_unbound" },
    { nr: 29, args: [3, { at: "poll" }], name: "poll for 0.25 s" },
    { nr: 24, args: [4, 0, { at: "info" }], name: "get_runstate_info" },
  ], {
    area: [{ at: "ra" }],
    ra: new Uint8Array(44),
    info: new Uint8Array(44),
    unbound: words(0x7ff0, 0, 0),
    port: words(3),
    poll: [{ at: "port" }, 1, 250_000_000, 0],
  });
  assert.deepEqual(results, [0, 0, 0, 0]);
  const v = machine.domain.vcpus[0];
  const info = v.runstateInfo();
  const dv = new DataView(info.buffer);
  assert.equal(dv.getInt32(0, true), 0, "running now");
  const blockedNs = dv.getUint32(12 + 2 * 8, true) + dv.getUint32(12 + 2 * 8 + 4, true) * 2 ** 32;
  assert.ok(blockedNs >= 240_000_000 && blockedNs <= 250_000_000, `blocked ${blockedNs} ns`);
});

/**
 * vcpu 0 starts vcpu 1 with VCPUOP_initialise + _up; vcpu 1 prints, sets a flag, goes down.
 * With `ipi`, vcpu 1 instead blocks and vcpu 0 wakes it with an IPI event channel bound
 * to vcpu 1: the upcall runs on vcpu 1, which prints and sets the flag.
 */
function smpKernel(ipi = false): Uint8Array {
  return kernelImage((a, hp) => {
    a.db(0x0f, 0x20, 0xd8); // mov eax,cr3 (emulated: xen_pfn_to_cr3 of the L3)
    a.db(0xa3).ddLabel("ctx", 2716 + 12); // ctxt.ctrlreg[3]
    a.movImm(EBX, 0).movImm(ECX, 1).movLabel(EDX, "ctx").hypercall(hp, 24); // initialise
    a.db(0xa3).ddLabel("res", 0);
    a.movImm(EBX, 1).movImm(ECX, 1).movImm(EDX, 0).hypercall(hp, 24); // up
    a.db(0xa3).ddLabel("res", 4);
    if (ipi) {
      a.movImm(EBX, 7).movLabel(ECX, "bindipi").hypercall(hp, 32); // bind_ipi(vcpu 1)
      a.label("notready");
      a.movImm(EBX, 0).movImm(ECX, 0).hypercall(hp, 29); // yield
      a.db(0x83, 0x3d).ddLabel("ready").db(0);
      a.db(0x0f, 0x84).ddRel("notready");
      a.movImm(EBX, 4).movLabel(ECX, "ipiport").hypercall(hp, 32); // EVTCHNOP_send
    }
    a.label("wait");
    a.movImm(EBX, 0).movImm(ECX, 0).hypercall(hp, 29); // yield
    a.db(0x83, 0x3d).ddLabel("flag").db(0); // cmp dword [flag],0
    a.db(0x0f, 0x84).ddRel("wait");
    a.movImm(EBX, 0).movImm(ECX, 1).movLabel(EDX, "ctx").hypercall(hp, 24); // initialise again
    a.db(0xa3).ddLabel("res", 8);
    a.movImm(EBX, 3).movImm(ECX, 1).movImm(EDX, 0).hypercall(hp, 24); // is_up (vcpu 1 went down)
    a.db(0xa3).ddLabel("res", 12);
    a.movImm(EBX, 0).movImm(ECX, 16).movLabel(EDX, "res").hypercall(hp, 18);
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.label("spin").jmpLabel("spin");
    a.label("ap"); // vcpu 1
    if (ipi) {
      a.movImm(EBX, 0xe019).movLabel(ECX, "apevt").movImm(EDX, 0xe019).movLabel(ESI, "apevt");
      a.hypercall(hp, 4); // its own callbacks
      a.db(0xc7, 0x05).ddLabel("ready").dd(1);
      a.movImm(EBX, 1).movImm(ECX, 0).hypercall(hp, 29); // SCHEDOP_block: unmasks, sleeps
      a.label("apblocked").jmpLabel("apblocked");
      a.label("apevt"); // the upcall on vcpu 1
    }
    a.movImm(EBX, 0).movImm(ECX, 2).movLabel(EDX, "msg").hypercall(hp, 18);
    a.db(0xc7, 0x05).ddLabel("flag").dd(1);
    a.movImm(EBX, 2).movImm(ECX, 1).movImm(EDX, 0).hypercall(hp, 24); // VCPUOP_down(self)
    a.label("apspin").jmpLabel("apspin");
    a.align(4).label("res").dd(0).dd(0).dd(0).dd(0).label("flag").dd(0).label("zero").dd(0);
    a.label("ready").dd(0).label("bindipi").dd(1).label("ipiport").dd(0);
    a.label("msg").ascii(ipi ? "IP" : "AP");
    a.align(16).label("ctx");
    const ctx = new Uint8Array(2800);
    const dv = new DataView(ctx.buffer);
    dv.setUint32(516 + 36, 0xe019, true); // cs
    dv.setUint32(516 + 40, 0x202, true); // eflags
    dv.setUint32(516 + 48, 0xe021, true); // ss
    for (const off of [52, 56]) dv.setUint32(516 + off, 0xe021, true); // es, ds
    dv.setUint32(2708, 0xe021, true); // kernel_ss
    a.bytesOf(ctx.subarray(0, 516 + 32));
    a.ddLabel("ap"); // eip
    a.bytesOf(ctx.subarray(516 + 36, 516 + 44));
    a.ddLabel("apstack", 4096); // esp
    a.bytesOf(ctx.subarray(516 + 48, 2712));
    a.ddLabel("apstack", 4096); // kernel_sp
    a.bytesOf(ctx.subarray(2716));
    a.align(4096).label("apstack").bytesOf(new Uint8Array(4096));
  });
}

Deno.test("VCPUOP_initialise and _up start a second vcpu; it runs and goes down", async () => {
  const sink = new ByteSink();
  const m = new Machine({
    image: smpKernel(),
    memoryMiB: 8,
    vcpus: 2,
    console: sink,
    maxInstructions: 1e6,
  });
  const r = await m.run();
  assert.equal(r.reason, "poweroff", r.dump);
  const out = sink.bytes();
  assert.equal(new TextDecoder().decode(out.subarray(0, 2)), "AP");
  const dv = new DataView(out.buffer, 2);
  assert.deepEqual([0, 4, 8, 12].map((o) => dv.getInt32(o, true)), [0, 0, -17, 0]);
});

Deno.test("an IPI event channel bound to vcpu 1 wakes it and runs its upcall there", async () => {
  const sink = new ByteSink();
  const m = new Machine({
    image: smpKernel(true),
    memoryMiB: 8,
    vcpus: 2,
    console: sink,
    maxInstructions: 1e6,
  });
  const r = await m.run();
  assert.equal(r.reason, "poweroff", r.dump);
  const out = sink.bytes();
  assert.equal(new TextDecoder().decode(out.subarray(0, 2)), "IP");
  // Ports 1 and 2 are xenstore's and the console's: the IPI is port 3, notifying vcpu 1.
  assert.equal(m.domain.evtchn?.notifyVcpu(3), 1);
});
