/**
 * The debugger against real Machines (in process): stepping over a hypercall, breakpoints
 * that survive a reboot, a crash shown as SIGSEGV before the end, memory through the
 * guest's tables (unmapped reads, refused page-table writes), all through the protocol.
 */
import assert from "node:assert/strict";
import { Machine } from "../../lib/hypervisor/mod.ts";
import { type AttachEnd, DomainDebugger } from "../../lib/gdbstub/domain_debugger.ts";
import { runGated } from "../../lib/gdbstub/stub.ts";
import { type Connection, GdbSession } from "../../lib/gdbstub/session.ts";
import { encodePacket, PacketDecoder } from "../../lib/gdbstub/packet.ts";
import { helloKernel, kernelImage } from "../hypervisor/_image.ts";
import { readDefaultGuest } from "../../lib/toolstack/default_guest.ts";

const enc = new TextEncoder(), dec = new TextDecoder();

/** A client that sends one packet and waits for its reply. */
class Client implements Connection {
  #in: Array<Uint8Array | null> = [];
  #wait: ((b: Uint8Array | null) => void) | null = null;
  #out = new PacketDecoder(1 << 20);
  #replies: string[] = [];
  #onReply: (() => void) | null = null;
  read(): Promise<Uint8Array | null> {
    if (this.#in.length) return Promise.resolve(this.#in.shift()!);
    return new Promise((r) => (this.#wait = r));
  }
  write(b: Uint8Array): Promise<void> {
    for (const ev of this.#out.push(b)) {
      if (ev.kind === "packet") this.#replies.push(dec.decode(ev.payload));
    }
    if (this.#replies.length) this.#onReply?.();
    return Promise.resolve();
  }
  close() {}
  #send(b: Uint8Array | null) {
    if (this.#wait) {
      const w = this.#wait;
      this.#wait = null;
      w(b);
    } else this.#in.push(b);
  }
  /** Sends a packet; resolves with its reply. */
  ask(p: string): Promise<string> {
    this.#send(encodePacket(p));
    return new Promise((resolve) => {
      const take = () => {
        if (!this.#replies.length) return;
        this.#onReply = null;
        resolve(this.#replies.shift()!);
      };
      this.#onReply = take;
      take();
    });
  }
  hangUp() {
    this.#send(null);
  }
  /** Sends Ctrl-C; resolves with the stop reply of the running command. */
  interrupt(): Promise<string> {
    this.#send(Uint8Array.of(3));
    return new Promise((resolve) => {
      const take = () => {
        if (!this.#replies.length) return;
        this.#onReply = null;
        resolve(this.#replies.shift()!);
      };
      this.#onReply = take;
      take();
    });
  }
}

function le32(hex: string): number {
  return Number.parseInt(hex.match(/../g)!.reverse().join(""), 16);
}

const ENTRY = 0xc0001000;

/** The boot loop's part for one machine: run it through the gate, then end the domain. */
function runOne(dbg: DomainDebugger, m: Machine): Promise<AttachEnd> {
  dbg.attach(m);
  return runGated(dbg, m, dbg.until).then((r) => {
    dbg.finish();
    return r;
  });
}

Deno.test("gdbstub machine: a step over a hypercall is one instruction; W00 at poweroff", async () => {
  const out: string[] = [];
  const m = new Machine({
    image: helloKernel("boot\n", 0),
    memoryMiB: 8,
    console: { write: (b: Uint8Array) => out.push(dec.decode(b)) },
  });
  const dbg = new DomainDebugger();
  const end = runOne(dbg, m);
  const s = new GdbSession(dbg);
  const c = new Client();
  const serving = s.serve(c);
  await c.ask("QStartNoAckMode");
  assert.equal(le32(await c.ask("p8")), ENTRY);
  // mov ebx; mov ecx; mov edx; call hypercall_page+18*32; mov eax,18 (page); int 0x82
  for (let i = 0; i < 5; i++) assert.equal(await c.ask("s"), "T05thread:1;");
  assert.equal(m.cpus[0].retired, 5);
  assert.equal(out.join(""), "");
  assert.equal(await c.ask("s"), "T05thread:1;"); // the int 0x82: console_io ran
  assert.equal(m.cpus[0].retired, 6);
  assert.equal(out.join(""), "boot\n");
  assert.equal(le32(await c.ask("p8")), 0xc0000000 + 18 * 32 + 7); // at the page's ret
  assert.equal(await c.ask("c"), "W00");
  assert.equal(await serving, "ended");
  const r = await end;
  assert.ok(r !== "killed" && r.reason === "poweroff");
});

Deno.test("gdbstub machine: breakpoints carry over a reboot; gdb stays attached", async () => {
  const image = helloKernel("boot\n", 1); // SHUTDOWN_reboot
  const dbg = new DomainDebugger();
  const ends: string[] = [];
  const machines: Machine[] = [];
  const loop = (async () => {
    for (let i = 0; i < 2; i++) {
      const m = new Machine({ image, memoryMiB: 8, console: { write() {} } });
      machines.push(m);
      dbg.attach(m);
      const e = await runGated(dbg, m, dbg.until);
      ends.push(e === "killed" ? e : e.reason);
    }
    dbg.finish();
  })();
  await new Promise((r) => setTimeout(r, 0));
  const s = new GdbSession(dbg);
  const c = new Client();
  const serving = s.serve(c);
  await c.ask("QStartNoAckMode");
  const second = (ENTRY + 5).toString(16); // the second mov
  assert.equal(await c.ask(`Z0,${second},1`), "OK");
  assert.equal(await c.ask("c"), "T05thread:1;");
  assert.equal(le32(await c.ask("p8")), ENTRY + 5);
  assert.equal(await c.ask("c"), "T05thread:1;"); // the rebooted domain, same breakpoint
  assert.equal(machines.length, 2);
  assert.equal(machines[1].cpus[0].retired, 1);
  assert.equal(await c.ask(`z0,${second},1`), "OK");
  assert.equal(await c.ask("c"), "W00"); // --no-reboot-like end: the loop is done
  assert.equal(await serving, "ended");
  await loop;
  assert.deepEqual(ends, ["reboot", "reboot"]);
});

Deno.test("gdbstub machine: a crash stops with SIGSEGV first, then ends with X0b", async () => {
  const m = new Machine({ image: helloKernel("x\n", 3), memoryMiB: 8, console: { write() {} } });
  const dbg = new DomainDebugger();
  const end = runOne(dbg, m);
  const s = new GdbSession(dbg);
  const c = new Client();
  const serving = s.serve(c);
  assert.equal(await c.ask("c"), "T0bthread:1;");
  assert.match(
    await c.ask("qRcmd," + [..."info"].map((x) => x.charCodeAt(0).toString(16)).join("")),
    /./,
  );
  assert.equal(await c.ask("c"), "X0b");
  assert.equal(await serving, "ended");
  const r = await end;
  assert.ok(r !== "killed" && r.reason === "crash");
});

Deno.test("gdbstub machine: memory through the guest's tables; its page tables are not writable", async () => {
  const image = await readDefaultGuest();
  const m = new Machine({ image, memoryMiB: 16, cmdline: "selftest", console: { write() {} } });
  const dbg = new DomainDebugger();
  dbg.attach(m);
  // the kernel's first bytes as the ELF has them (no change seen by the guest either)
  const text = dbg.readMemory(0, 0xc0000000n, 16);
  assert.equal(text.length, 16);
  assert.equal(dbg.readMemory(0, 0n, 4).length, 0);
  assert.equal(dbg.readMemory(0, 0xfffffffen, 8).length, 0);
  // pt_base is mapped read-only for the guest: the debugger may not write it either
  const ptBase = m.built.layout.pgtables.vstart;
  assert.equal(dbg.readMemory(0, BigInt(ptBase), 8).length, 8);
  assert.equal(dbg.writeMemory(0, BigInt(ptBase), new Uint8Array(8)), false);
  // plain RAM is writable, and the write is seen by decoded code
  const data = 0xc0000000 + 0x18000; // _data
  assert.ok(dbg.writeMemory(0, BigInt(data), enc.encode("pvx!")));
  assert.equal(dec.decode(dbg.readMemory(0, BigInt(data), 4)), "pvx!");
  assert.equal(dbg.writeMemory(0, 0n, new Uint8Array(1)), false);
});

Deno.test("gdbstub machine: Ctrl-C stops a spinning guest; kill ends it", async () => {
  const image = kernelImage((a) => a.label("spin").jmpLabel("spin"));
  const m = new Machine({ image, memoryMiB: 8, console: { write() {} } });
  const dbg = new DomainDebugger();
  const end = runOne(dbg, m);
  const s = new GdbSession(dbg);
  const c = new Client();
  const serving = s.serve(c);
  c.ask("c"); // no reply until it stops
  while (m.cpus[0].retired < 1_000_000) await new Promise((r) => setTimeout(r, 5));
  assert.equal(await c.interrupt(), "T02thread:1;");
  const at = m.cpus[0].retired;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(m.cpus[0].retired, at); // paused: nothing runs while gdb looks
  assert.equal(le32(await c.ask("p8")), ENTRY);
  c.ask("k");
  assert.equal(await serving, "killed");
  assert.equal(await end, "killed");
});

Deno.test("gdbstub machine: a breakpoint in a loop the block compiler runs stops there", async () => {
  // loop: inc eax; inc ebx; jmp loop  (hot: compiled as a region before gdb looks)
  const image = kernelImage((a) => a.label("loop").db(0x40, 0x43).jmpLabel("loop"));
  const m = new Machine({ image, memoryMiB: 8, console: { write() {} } });
  assert.ok(m.cpus[0].jit !== null, "the block compiler is on by default");
  const dbg = new DomainDebugger();
  const end = runOne(dbg, m);
  const s = new GdbSession(dbg);
  const c = new Client();
  const serving = s.serve(c);
  c.ask("c");
  while (m.cpus[0].retired < 3_000_000) await new Promise((r) => setTimeout(r, 5));
  assert.equal(await c.interrupt(), "T02thread:1;");
  const target = ENTRY + 1; // inc ebx
  const pc = le32(await c.ask("p8"));
  if (pc === target) assert.equal(await c.ask("s"), "T05thread:1;"); // gdb steps off it first
  assert.equal(await c.ask(`Z0,${target.toString(16)},1`), "OK");
  const eax = le32(await c.ask("p0"));
  assert.equal(await c.ask("c"), "T05thread:1;");
  assert.equal(le32(await c.ask("p8")), target);
  const eax2 = le32(await c.ask("p0"));
  assert.ok(eax2 - eax <= 1, `ran ${eax2 - eax} loop turns past the breakpoint`);
  // and again: one turn of the loop, then the breakpoint
  assert.equal(await c.ask(`z0,${target.toString(16)},1`), "OK");
  assert.equal(await c.ask("s"), "T05thread:1;");
  assert.equal(await c.ask(`Z0,${target.toString(16)},1`), "OK");
  assert.equal(await c.ask("c"), "T05thread:1;");
  assert.equal(le32(await c.ask("p0")), eax2 + 1);
  c.ask("k");
  assert.equal(await serving, "killed");
  assert.equal(await end, "killed");
});
