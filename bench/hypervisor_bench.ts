/**
 * Hypervisor benchmarks: null-hypercall round trips (a guest loop calling
 * xen_version(XENVER_version) through the hypercall page) and event-channel
 * send -> upcall latency in guest instructions (EVTCHNOP_send on an IPI port bound to
 * itself, measured with rdtsc, which counts retired instructions in virtual time).
 * Run with `deno bench -A bench/hypervisor_bench.ts`.
 * @module
 */
import { Machine } from "../lib/hypervisor/machine/machine.ts";
import { EBX, ECX, EDX, ESI, kernelImage } from "../tests/hypervisor/_image.ts";

const CALLS = 50_000;
const SI_VA = 0xc0020000;

/** A guest that makes `n` null hypercalls, then powers off. */
function nullHypercallKernel(n: number): Uint8Array {
  return kernelImage((a, hp) => {
    a.movImm(7, n); // edi = count
    a.label("loop");
    a.movImm(EBX, 0).hypercall(hp, 17); // xen_version(XENVER_version)
    a.db(0x4f); // dec edi
    a.db(0x0f, 0x85).ddRel("loop"); // jnz loop
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.label("spin").jmpLabel("spin");
    a.align(4).label("zero").dd(0);
  });
}

/**
 * A guest that binds an IPI port, unmasks events, reads the TSC, sends on the port, and
 * reads the TSC again first thing in its event callback; it reports the two TSC values
 * through console_io.
 */
function sendUpcallKernel(): Uint8Array {
  return kernelImage((a, hp) => {
    a.db(0x8b, 0x56, 0x24); // mov edx,[esi+36]: start_info.shared_info
    a.db(0x83, 0xca, 0x07); // or edx,7
    a.movImm(EBX, SI_VA).db(0x89, 0xd1).movImm(EDX, 0).movImm(ESI, 2).hypercall(hp, 14);
    a.movImm(EBX, 0xe019).movLabel(ECX, "evt").movImm(EDX, 0xe019).movLabel(ESI, "evt");
    a.hypercall(hp, 4); // set_callbacks
    a.movImm(EBX, 7).movLabel(ECX, "ipi").hypercall(hp, 32); // bind_ipi(vcpu 0)
    a.db(0xa1).ddLabel("ipiport").db(0xa3).ddLabel("sendport"); // copy the port
    a.db(0xc6, 0x05).dd(SI_VA + 1).db(0); // evtchn_upcall_mask = 0
    a.db(0x0f, 0x31).db(0xa3).ddLabel("t0"); // rdtsc; mov [t0],eax
    a.movImm(EBX, 4).movLabel(ECX, "sendport").hypercall(hp, 32); // EVTCHNOP_send
    a.label("spin").jmpLabel("spin");
    a.label("evt");
    a.db(0x0f, 0x31).db(0xa3).ddLabel("t1"); // rdtsc; mov [t1],eax
    a.movImm(EBX, 0).movImm(ECX, 8).movLabel(EDX, "t0").hypercall(hp, 18);
    a.movImm(EBX, 2).movLabel(ECX, "zero").hypercall(hp, 29);
    a.align(4).label("t0").dd(0).label("t1").dd(0).label("zero").dd(0);
    a.label("ipi").dd(0).label("ipiport").dd(0).label("sendport").dd(0);
  }, { bss: 0x30000 });
}

const nullImage = nullHypercallKernel(CALLS);

async function runNull(): Promise<number> {
  const m = new Machine({ image: nullImage, memoryMiB: 8 });
  const t0 = performance.now();
  const r = await m.run();
  if (r.reason !== "poweroff") throw new Error(`null-hypercall guest: ${r.reason}`);
  return performance.now() - t0;
}

async function sendUpcallLatency(): Promise<number> {
  const out: number[] = [];
  const m = new Machine({
    image: sendUpcallKernel(),
    memoryMiB: 8,
    console: { write: (b) => out.push(...b) },
  });
  const r = await m.run();
  if (r.reason !== "poweroff") throw new Error(`send/upcall guest: ${r.reason}\n${r.dump ?? ""}`);
  const dv = new DataView(Uint8Array.from(out).buffer);
  return dv.getUint32(4, true) - dv.getUint32(0, true);
}

// Print the headline figures once, then let deno bench time the runs.
const ms = await runNull();
console.log(
  `null hypercall: ${Math.round(CALLS / (ms / 1000)).toLocaleString("en")} round trips/s ` +
    `(${CALLS} in ${ms.toFixed(0)} ms, including boot)`,
);
console.log(`event-channel send -> upcall: ${await sendUpcallLatency()} guest instructions`);

Deno.bench(`null hypercall x${CALLS} (xen_version, through the hypercall page)`, async () => {
  await runNull();
});

Deno.bench("event-channel send -> upcall (one guest)", async () => {
  await sendUpcallLatency();
});
