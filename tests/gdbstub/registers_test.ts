import assert from "node:assert/strict";
import { gLayout, I386, targetXml, X86_64 } from "../../lib/gdbstub/registers.ts";
import type { ArchRegisters } from "../../lib/gdbstub/registers.ts";

const haveGdb = (() => {
  try {
    return new Deno.Command("gdb", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** gdb's own table of a description: name -> [remote number, g offset, size]. */
async function gdbRemoteRegisters(a: ArchRegisters): Promise<Map<string, number[]>> {
  const file = await Deno.makeTempFile({ suffix: ".xml" });
  try {
    await Deno.writeTextFile(file, targetXml(a));
    const out = await new Deno.Command("gdb", {
      args: [
        "-nx",
        "-batch",
        "-ex",
        `set tdesc filename ${file}`,
        "-ex",
        `set architecture ${a.gdbArch}`,
        "-ex",
        "maint print remote-registers",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(!/internal-error/.test(new TextDecoder().decode(out.stderr)), "gdb rejected it");
    const regs = new Map<string, number[]>();
    for (const line of text.split("\n")) {
      const f = line.trim().split(/\s+/);
      // Name Nr Rel Offset Size Type RmtNr g/G-Offset
      if (f.length >= 8 && /^\d+$/.test(f[6]) && /^\d+$/.test(f[7])) {
        regs.set(f[0], [Number(f[6]), Number(f[7]), Number(f[4])]);
      }
    }
    return regs;
  } finally {
    await Deno.remove(file);
  }
}

for (const a of [I386, X86_64]) {
  Deno.test({
    name: `registers: gdb reads the ${a.mode} description with pvx's g layout` +
      (haveGdb ? "" : " (ignored: gdb missing)"),
    ignore: !haveGdb,
    fn: async () => {
      const got = await gdbRemoteRegisters(a);
      const { offsets } = gLayout(a);
      a.regs.forEach((d, i) => {
        assert.deepEqual(got.get(d.name), [i, offsets[i], d.bits / 8], d.name);
      });
    },
  });
}

Deno.test("registers: the x86-64 table is gdb's amd64 order and the g packet is 552 bytes", () => {
  const names = X86_64.regs.map((d) => d.name);
  assert.deepEqual(names.slice(0, 18), [
    "rax",
    "rbx",
    "rcx",
    "rdx",
    "rsi",
    "rdi",
    "rbp",
    "rsp",
    "r8",
    "r9",
    "r10",
    "r11",
    "r12",
    "r13",
    "r14",
    "r15",
    "rip",
    "eflags",
  ]); // deno-fmt-ignore
  const { offsets, size } = gLayout(X86_64);
  assert.equal(offsets[names.indexOf("rip")], 128);
  assert.equal(offsets[names.indexOf("st0")], 164);
  assert.equal(offsets[names.indexOf("xmm0")], 276);
  assert.equal(offsets[names.indexOf("mxcsr")], 532);
  assert.equal(size, 552);
  assert.match(targetXml(X86_64), /<architecture>i386:x86-64<\/architecture>/);
  assert.match(targetXml(X86_64), /<feature name="org.gnu.gdb.i386.segments">/);
  assert.match(targetXml(I386), /<architecture>i386<\/architecture>/);
});
