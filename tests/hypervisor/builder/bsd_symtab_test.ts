/**
 * BSD_SYMTAB: the symbol and string tables follow the kernel behind a fake ELF header, as
 * libelf lays them out (checked on XTF's XSA-194 test kernel, which asks for it).
 */
import assert from "node:assert/strict";
import { parseElf } from "../../../lib/hypervisor/builder/elf.ts";
import { bsdSymtabSegment } from "../../../lib/hypervisor/builder/bsd_symtab.ts";
import { loadKernelImage } from "../../../lib/hypervisor/builder/from_elf.ts";
import { xtfDir } from "../../xtf/_xtf_dir.ts";

const dir = xtfDir();
const file = dir.path ? `${dir.path}/pv32pae/test-pv32pae-xsa-194` : "";

Deno.test({
  name: `BSD_SYMTAB lays out size, ELF header, 3 section headers, symtab, strtab${
    dir.path ? "" : ` (ignored: ${dir.reason})`
  }`,
  ignore: !dir.path,
  fn() {
    const bytes = Deno.readFileSync(file);
    const elf = parseElf(bytes);
    const k = loadKernelImage(bytes, "xsa-194");
    const seg = k.segments[k.segments.length - 1];
    const sym = elf.sections.find((s) => s.type === 2)!;
    const str = elf.sections[sym.link];
    const { end } = bsdSymtabSegment(elf, 0x1001, "x");
    assert.ok(end >= 0x1004 + seg.data.length);
    const d = new DataView(seg.data.buffer, seg.data.byteOffset);
    assert.equal(seg.vaddr % 4, 0);
    assert.ok(seg.vaddr >= Math.max(...k.segments.slice(0, -1).map((s) => s.vaddr + s.memsz)));
    assert.equal(d.getUint32(0, true), seg.data.length - 4, "size");
    assert.deepEqual([...seg.data.subarray(4, 8)], [0x7f, 0x45, 0x4c, 0x46]);
    assert.equal(d.getUint32(4 + 32, true), 64, "e_shoff");
    assert.equal(d.getUint16(4 + 48, true), 3, "e_shnum");
    assert.equal(d.getUint16(4 + 44, true), 0, "e_phnum");
    assert.ok(seg.data.subarray(4 + 52, 4 + 64).every((b) => b === 0), "padding is zero");
    assert.ok(seg.data.subarray(68, 68 + 40).every((b) => b === 0), "null section header");
    const symOff = d.getUint32(68 + 40 + 16, true), strOff = d.getUint32(68 + 80 + 16, true);
    assert.equal(d.getUint32(68 + 40 + 4, true), 2, "SHT_SYMTAB");
    assert.equal(d.getUint32(68 + 40 + 24, true), 2, "sh_link -> STRTAB");
    assert.equal(d.getUint32(68 + 80 + 4, true), 3, "SHT_STRTAB");
    assert.equal(symOff, 256);
    assert.deepEqual(
      seg.data.subarray(4 + symOff, 4 + symOff + sym.size),
      bytes.subarray(sym.offset, sym.offset + sym.size),
    );
    assert.deepEqual(
      seg.data.subarray(4 + strOff, 4 + strOff + str.size),
      bytes.subarray(str.offset, str.offset + str.size),
    );
    assert.equal(4 + strOff + str.size, seg.data.length);
  },
});
