/**
 * The host CPU as oracle for what ring 3 sees of the system side of IA-32e mode:
 * `far64_host.c` (gcc -m64, Linux's GDT: 0x23 compat code, 0x2b data, 0x33 64-bit code,
 * 0x10/0x18 ring 0) ran 33 position-independent cases at 0x200000 and recorded, at the
 * first trap, the vector, error code, RIP, CS, RFLAGS, CR2 and the 16 GPRs
 * (`far64_host.txt`; regenerate with generate.sh). Here pvx runs the same bytes at the same
 * address with the same registers (DS/ES/FS/GS null, as Linux leaves them) and must agree:
 * far transfers between 64-bit and compatibility code (lret, ljmp m16:32, lcall, iretq,
 * iretd), segment register moves, the #GP/#UD/#BP/#DB of privileged and invalid
 * instructions at CPL 3, #GP with selector error codes, #PF from compatibility code, and
 * a null DS faulting in compatibility mode, iretd in compatibility mode (no SS:ESP pop).
 * @module
 */

import assert from "node:assert/strict";
import { sysMachine, toUser } from "./sys_machine.ts";
import { getReg, getRip, setReg } from "./machine64.ts";

const LINES = Deno.readTextFileSync(new URL("./far64_host.txt", import.meta.url)).trim().split(
  "\n",
);

/** RFLAGS bits compared: the arithmetic flags, DF, IF. */
const FLAGS = 0x8d5 | 0x400 | 0x200;

const big = (s: string) => BigInt("0x" + s);

for (const line of LINES) {
  const [name, code, trapno, err, rip, cs, rflags, cr2, ...regs] = line.split(" ");
  Deno.test(`host oracle, ring 3: ${name} (${code.slice(0, 24)}...)`, () => {
    const bytes = new Uint8Array(4096).fill(0xcc);
    for (let i = 0; i < code.length / 2; i++) bytes[i] = parseInt(code.slice(i * 2, i * 2 + 2), 16);
    const m = sysMachine(bytes, 0x200000, 1024);
    const { cpu, platform } = m;
    toUser(m);
    for (const s of [0, 3, 4, 5]) cpu.setSegmentRaw(s, 0, 0, 0, 0);
    for (let r = 0; r < 16; r++) setReg(cpu, r, BigInt(0x1000 * (r + 1) + 0x11));
    setReg(cpu, 4, 0x21f000n);
    cpu.setEflags(0x202);
    cpu.run(1000);
    const e = platform.exceptions[0];
    assert.ok(e !== undefined, "no exception");
    const vector = Number(big(trapno));
    assert.equal(e.vector, vector, "vector");
    if (vector === 13 || vector === 14) assert.equal(e.errorCode, Number(big(err)), "error code");
    if (vector === 14) {
      assert.equal(BigInt(e.cr2 >>> 0) | (BigInt(cpu.lm.cr2Hi >>> 0) << 32n), big(cr2), "CR2");
    }
    // int1 (case 16): this host (a guest of a hypervisor) reports ICEBP's #DB at the
    // instruction; the SDM (and pvx) put RIP after it, as for int3.
    if (name !== "case_16") assert.equal(getRip(cpu), big(rip), "RIP");
    assert.equal(cpu.sel(1), Number(big(cs)), "CS");
    assert.equal(cpu.getEflags() & FLAGS, Number(big(rflags)) & FLAGS, "RFLAGS");
    for (let r = 0; r < 16; r++) assert.equal(getReg(cpu, r), big(regs[r]), `r${r}`);
  });
}
