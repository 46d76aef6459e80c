/**
 * The x86-64 register layer through the protocol: a fake 64-bit target's registers as
 * gdb's `g`, `p` and `P` packets carry them, and 64-bit addresses in memory and breakpoint
 * packets (x86_64_machine_test.ts and gdb_e2e_test.ts run the real 64-bit guest).
 */
import assert from "node:assert/strict";
import { type Connection, GdbSession } from "../../lib/gdbstub/session.ts";
import { encodePacket, PacketDecoder } from "../../lib/gdbstub/packet.ts";
import { gLayout, type RegisterAccess, X86_64 } from "../../lib/gdbstub/registers.ts";
import { leBytes, leValue, toHex } from "../../lib/gdbstub/hex.ts";
import type { DebugTarget, StopEvent } from "../../lib/gdbstub/target.ts";

const dec = new TextDecoder();

class Fake64 implements DebugTarget {
  arch = X86_64;
  regs = new Map<string, Uint8Array>();
  reads: bigint[] = [];
  points: bigint[] = [];
  constructor() {
    X86_64.regs.forEach((d, i) =>
      this.regs.set(d.name, leBytes(BigInt(i) * 0x0101010101n, d.bits / 8))
    );
    this.regs.set("rip", leBytes(0xffffffff81000000n, 8));
  }
  vcpus() {
    return [0];
  }
  vcpuInfo() {
    return "vcpu0";
  }
  registers(): RegisterAccess {
    return { read: (n) => this.regs.get(n) ?? null, write: (n, b) => (this.regs.set(n, b), true) };
  }
  readMemory(_v: number, a: bigint, len: number) {
    this.reads.push(a);
    return new Uint8Array(len).fill(0xcc);
  }
  writeMemory() {
    return false;
  }
  insertPoint(_t: number, a: bigint) {
    this.points.push(a);
    return true;
  }
  removePoint() {
    return true;
  }
  resume(): Promise<StopEvent> {
    return Promise.resolve({ kind: "stopped", vcpu: 0, signal: 5 });
  }
  interrupt() {}
  lastStop(): StopEvent {
    return { kind: "stopped", vcpu: 0, signal: 5 };
  }
  kill() {}
  detach() {}
  monitor() {
    return "";
  }
}

async function ask(t: DebugTarget, packets: string[]): Promise<string[]> {
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

Deno.test("x86-64: g carries every register at gdb's offsets; p/P by regnum; 64-bit addresses", async () => {
  const t = new Fake64();
  const ripNum = X86_64.regs.findIndex((d) => d.name === "rip");
  const fsNum = X86_64.regs.findIndex((d) => d.name === "fs_base");
  const r = await ask(t, [
    "QStartNoAckMode",
    "g",
    `p${ripNum.toString(16)}`,
    `P${fsNum.toString(16)}=${toHex(leBytes(0x00007f0012345678n, 8))}`,
    `p${fsNum.toString(16)}`,
    "mffffffff81000000,4",
    "Z0,ffffffff81000010,1",
    "qXfer:features:read:target.xml:0,fff",
  ]);
  const { offsets, size } = gLayout(X86_64);
  assert.equal(r[1].length, size * 2);
  const g = r[1];
  const at = (name: string) => {
    const i = X86_64.regs.findIndex((d) => d.name === name);
    return g.slice(offsets[i] * 2, (offsets[i] + X86_64.regs[i].bits / 8) * 2);
  };
  assert.equal(at("rip"), "00000081ffffffff");
  assert.equal(offsets[ripNum], 128);
  assert.equal(at("r15"), toHex(leBytes(15n * 0x0101010101n, 8)));
  assert.equal(at("st0").length, 20);
  assert.equal(at("xmm15").length, 32);
  assert.equal(r[2], "00000081ffffffff");
  assert.equal(r[3], "OK");
  assert.equal(
    leValue(Uint8Array.from(r[4].match(/../g)!.map((h) => parseInt(h, 16)))),
    0x7f0012345678n,
  );
  assert.equal(r[5], "cccccccc");
  assert.deepEqual(t.reads, [0xffffffff81000000n]);
  assert.equal(r[6], "OK");
  assert.deepEqual(t.points, [0xffffffff81000010n]);
  assert.match(r[7], /^m<\?xml[\s\S]*i386:x86-64[\s\S]*name="r15" bitsize="64"/);
});
