/**
 * The 64-bit hypercall page against GNU as assembling the stubs Xen documents
 * (push %rcx; push %r11; mov $nr,%eax; syscall; pop %r11; pop %rcx; ret, and iret's
 * push %rcx; push %r11; push %rax; mov $23,%eax; syscall), and the 64-bit kernel loader's
 * notes against Xen's readnotes.
 */
import assert from "node:assert/strict";
import { fillHypercallPage64 } from "../../../lib/hypervisor/builder/hypercall_page64.ts";
import { loadKernelImage64 } from "../../../lib/hypervisor/builder/kernel_image64.ts";

function have(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}
const haveAs = have("as", ["--version"]) && have("objcopy", ["--version"]);
const READNOTES = "/usr/lib/xen-4.17/bin/readnotes";
const haveReadnotes = (() => {
  try {
    Deno.statSync(READNOTES);
    return true;
  } catch {
    return false;
  }
})();

/** Assembles x86-64 source to raw bytes with GNU as + objcopy. */
function assemble(src: string): Uint8Array {
  const dir = Deno.makeTempDirSync({ prefix: "pvx-hc64-" });
  try {
    Deno.writeTextFileSync(`${dir}/s.s`, src);
    const as = new Deno.Command("as", { args: ["--64", "-o", `${dir}/s.o`, `${dir}/s.s`] })
      .outputSync();
    assert.ok(as.success, new TextDecoder().decode(as.stderr));
    const oc = new Deno.Command("objcopy", {
      args: ["-O", "binary", "-j", ".text", `${dir}/s.o`, `${dir}/s.bin`],
    }).outputSync();
    assert.ok(oc.success, new TextDecoder().decode(oc.stderr));
    return Deno.readFileSync(`${dir}/s.bin`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test({
  name: "fillHypercallPage64() equals GNU as on Xen's ring-3 stubs, int3 elsewhere" +
    (haveAs ? "" : " (ignored: binutils missing)"),
  ignore: !haveAs,
  fn() {
    const lines: string[] = [];
    for (let i = 0; i < 128; i++) {
      lines.push(`.org ${i * 32}, 0xcc`, "push %rcx", "push %r11");
      if (i === 23) lines.push("push %rax", `mov $${i}, %eax`, "syscall");
      else lines.push(`mov $${i}, %eax`, "syscall", "pop %r11", "pop %rcx", "ret");
    }
    lines.push(".org 4096, 0xcc");
    const ref = assemble(lines.join("\n") + "\n");
    const page = new Uint8Array(4096);
    fillHypercallPage64(page);
    assert.equal(ref.length, 4096);
    assert.deepEqual(page, ref);
  },
});

function readnotes(path: string): Map<string, string> {
  const out = new TextDecoder().decode(
    new Deno.Command(READNOTES, { args: [path] }).outputSync().stdout,
  );
  const m = new Map<string, string>();
  for (const line of out.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim().split(" ")[0]);
  }
  return m;
}

const images = [
  new URL("../../fixtures/cache/inspect/grub-x86_64-xen.bin", import.meta.url).pathname,
  "/work/shared/xtf/pv64/test-pv64-example",
].filter((p) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
});

Deno.test({
  name: "loadKernelImage64() reads the entry, virt_base and hypercall page readnotes reports" +
    (haveReadnotes && images.length ? "" : " (ignored: readnotes or images missing)"),
  ignore: !haveReadnotes || images.length === 0,
  fn() {
    for (const path of images) {
      const notes = readnotes(path);
      const k = loadKernelImage64(Deno.readFileSync(path), path);
      const num = (key: string) => BigInt(notes.get(key) ?? "0");
      if (notes.has("ENTRY")) assert.equal(k.entry, num("ENTRY"), path);
      assert.equal(k.virtBase, num("VIRT_BASE"), path);
      if (notes.has("HYPERCALL_PAGE")) assert.equal(k.hypercallPage, num("HYPERCALL_PAGE"), path);
      else assert.equal(k.hypercallPage, undefined, path);
    }
  },
});

Deno.test("loadKernelImage64() refuses a 32-bit kernel with a clear message", () => {
  const elf32 = new Uint8Array(64);
  elf32.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  assert.throws(() => loadKernelImage64(elf32, "k32"), /Cannot load image "k32"|k32/);
});
