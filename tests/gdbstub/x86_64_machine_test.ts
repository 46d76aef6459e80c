/**
 * The debugger against a real 64-bit domain (pvx's own 64-bit guest, in process): the
 * x86-64 description and `g` layout, registers from the long-mode CPU, memory through the
 * 4-level tables at kernel addresses, breakpoints, watchpoints and steps at 64-bit
 * addresses (lib/cpu/long/watch64.ts under the debug unit), non-canonical addresses
 * refused. Symbols come from `nm` on the ELF (ignored without binutils).
 */
import assert from "node:assert/strict";
import { Machine } from "../../lib/hypervisor/mod.ts";
import { type AttachEnd, DomainDebugger } from "../../lib/gdbstub/domain_debugger.ts";
import { runGated } from "../../lib/gdbstub/stub.ts";
import { type Connection, GdbSession } from "../../lib/gdbstub/session.ts";
import { encodePacket, PacketDecoder } from "../../lib/gdbstub/packet.ts";
import { gLayout, X86_64 } from "../../lib/gdbstub/registers.ts";
import { leValue } from "../../lib/gdbstub/hex.ts";
import { BP_HW, BP_SW, WP_READ, WP_WRITE } from "../../lib/gdbstub/target.ts";

const ELF = new URL("../../guest/pvx-guest64.elf", import.meta.url).pathname;
const dec = new TextDecoder(), enc = new TextEncoder();

/** The ELF's symbols (nm), or null without nm. */
function symbols(): Map<string, bigint> | null {
  try {
    const out = new Deno.Command("nm", { args: [ELF], stdout: "piped", stderr: "null" })
      .outputSync();
    if (!out.success) return null;
    const m = new Map<string, bigint>();
    for (const line of dec.decode(out.stdout).split("\n")) {
      const [addr, , name] = line.split(" ");
      if (name) m.set(name, BigInt("0x" + addr));
    }
    return m;
  } catch {
    return null;
  }
}
const SYMS = symbols();

/** The bytes of the ELF at a virtual address (its PT_LOAD segments). */
function elfBytes(elf: Uint8Array, vaddr: bigint, len: number): Uint8Array {
  const dv = new DataView(elf.buffer, elf.byteOffset);
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true), phnum = dv.getUint16(56, true);
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (dv.getUint32(p, true) !== 1) continue;
    const off = dv.getBigUint64(p + 8, true), va = dv.getBigUint64(p + 16, true);
    const filesz = dv.getBigUint64(p + 32, true);
    if (vaddr >= va && vaddr + BigInt(len) <= va + filesz) {
      const at = Number(off + vaddr - va);
      return elf.slice(at, at + len);
    }
  }
  throw new Error(`0x${vaddr.toString(16)} is in no PT_LOAD`);
}

/** A qRcmd packet (gdb's `monitor` command). */
function rcmd(cmd: string): string {
  return "qRcmd," + [...enc.encode(cmd)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Sends packets (no-ack mode first) and collects the replies. */
async function ask(t: DomainDebugger, packets: string[]): Promise<string[]> {
  const replies: string[] = [];
  const out = new PacketDecoder(1 << 20);
  const queue = packets.map((p) => encodePacket(p) as Uint8Array | null);
  queue.push(null);
  const conn: Connection = {
    read: () => Promise.resolve(queue.shift() ?? null),
    write: (b) => {
      for (const ev of out.push(b)) if (ev.kind === "packet") replies.push(dec.decode(ev.payload));
      return Promise.resolve();
    },
    close() {},
  };
  await new GdbSession(t).serve(conn);
  return replies;
}

function reg(dbg: DomainDebugger, name: string): bigint {
  return leValue(dbg.registers(0)!.read(name)!);
}

Deno.test({
  name: "x86-64 machine: registers, kernel memory, breakpoints, watchpoints and steps at " +
    "64-bit addresses" + (SYMS ? "" : " (ignored: nm missing)"),
  ignore: SYMS === null,
  fn: async () => {
    const sym = (n: string) => SYMS!.get(n)!;
    const elf = await Deno.readFile(ELF);
    const m = new Machine({
      image: elf,
      memoryMiB: 32,
      cmdline: "selftest",
      console: { write() {} },
    });
    const dbg = new DomainDebugger();
    dbg.attach(m);
    const end: Promise<AttachEnd> = runGated(dbg, m, dbg.until).then((r) => {
      dbg.finish();
      return r;
    });
    assert.equal(dbg.arch, X86_64);
    const entry = sym("_start");
    // the protocol: description, g layout, rip by regnum, memory at the kernel's addresses
    const ripNum = X86_64.regs.findIndex((d) => d.name === "rip");
    const r = await ask(dbg, [
      "QStartNoAckMode",
      "qXfer:features:read:target.xml:0,3fff",
      "g",
      `p${ripNum.toString(16)}`,
      `m${entry.toString(16)},10`,
      "m7fffffff0000,8",
      "m800000000000,8", // not canonical
      rcmd("vcpus"),
      rcmd(`pagewalk ${entry.toString(16)}`),
      rcmd("pagewalk 800000000000"),
    ]);
    assert.match(r[1], /<architecture>i386:x86-64<\/architecture>/);
    assert.equal(r[2].length, gLayout(X86_64).size * 2);
    assert.equal(r[3], entry.toString(16).match(/../g)!.reverse().join(""));
    assert.equal(
      r[4],
      [...elfBytes(elf, entry, 16)].map((b) => b.toString(16).padStart(2, "0")).join(""),
    );
    assert.equal(r[5], "E0e");
    assert.equal(r[6], "E0e");
    const text = (h: string) =>
      dec.decode(Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16))));
    assert.match(text(r[7]), new RegExp(`vcpu0: runnable cpl 3 rip 0x${entry.toString(16)} `));
    const walk = text(r[8]).split("\n");
    assert.match(
      walk[0],
      new RegExp(`^Pagetable walk from 0x${entry.toString(16)} \\(d\\d+v0, cr3 0x`),
    );
    assert.deepEqual(walk.slice(1, 5).map((l) => l.slice(0, 10)), [
      " L4[0x1ff]",
      " L3[0x1fe]",
      " L2[0x000]",
      " L1[0x000]",
    ]);
    assert.match(text(r[9]), /not canonical/);

    // a software breakpoint at a kernel function
    assert.ok(dbg.insertPoint(BP_SW, sym("selftest_run"), 1));
    assert.equal(dbg.insertPoint(BP_SW, 0x800000000000n, 1), false); // not canonical
    let ev = await dbg.resume({ step: -1 });
    assert.deepEqual(ev, { kind: "stopped", vcpu: 0, signal: 5, why: "swbreak" });
    assert.equal(reg(dbg, "rip"), sym("selftest_run"));
    assert.equal(reg(dbg, "rsp") >> 32n, 0xffffffffn); // a kernel stack
    // a step runs the instruction at the breakpoint
    ev = await dbg.resume({ step: 0 });
    assert.equal(ev.kind, "stopped");
    const after = reg(dbg, "rip");
    assert.ok(after > sym("selftest_run") && after < sym("selftest_run") + 16n);
    assert.ok(dbg.removePoint(BP_SW, sym("selftest_run"), 1));

    // memory writes at a 64-bit address, seen by reads
    const scratch = sym("stat_ticks") + 64n;
    const before = dbg.readMemory(0, scratch, 4);
    assert.ok(dbg.writeMemory(0, scratch, enc.encode("pvx!")));
    assert.equal(dec.decode(dbg.readMemory(0, scratch, 4)), "pvx!");
    assert.ok(dbg.writeMemory(0, scratch, before));

    // a write watchpoint fires with the data address; a read one on tick_period
    const ticks = leValue(dbg.readMemory(0, sym("stat_ticks"), 4));
    assert.ok(dbg.insertPoint(WP_WRITE, sym("stat_ticks"), 4));
    ev = await dbg.resume({ step: -1 });
    assert.deepEqual(ev, {
      kind: "stopped",
      vcpu: 0,
      signal: 5,
      why: "watch",
      dataAddress: sym("stat_ticks"),
    });
    assert.equal(leValue(dbg.readMemory(0, sym("stat_ticks"), 4)), ticks + 1n);
    assert.ok(dbg.removePoint(WP_WRITE, sym("stat_ticks"), 4));
    assert.ok(dbg.insertPoint(WP_READ, sym("tick_period"), 4));
    ev = await dbg.resume({ step: -1 });
    assert.equal(ev.kind === "stopped" && ev.why, "rwatch");
    assert.ok(dbg.removePoint(WP_READ, sym("tick_period"), 4));

    // a hardware breakpoint at poweroff, then the end
    assert.ok(dbg.insertPoint(BP_HW, sym("poweroff"), 1));
    ev = await dbg.resume({ step: -1 });
    assert.deepEqual(ev, { kind: "stopped", vcpu: 0, signal: 5, why: "hwbreak" });
    assert.equal(reg(dbg, "rip"), sym("poweroff"));
    // (without pvx's toolstack the selftest's xenstore checks fail: no poweroff to wait for)
    dbg.kill();
    assert.equal(await end, "killed");
    assert.deepEqual(dbg.lastStop(), { kind: "terminated", signal: 9 });
  },
});
