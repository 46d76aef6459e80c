/**
 * The register layer: per architecture, one table of the registers gdb knows (name, size,
 * type, group, feature) in the order of the `g` packet, and the target description XML
 * built from it (qXfer:features:read). Adding an architecture is adding a table; the
 * target supplies register values by name ({@link RegisterAccess}).
 *
 * The layouts follow gdb's standard x86 features: org.gnu.gdb.i386.core (general,
 * segment and x87 registers), org.gnu.gdb.i386.sse (xmm, mxcsr) and
 * org.gnu.gdb.i386.segments (fs_base, gs_base).
 * @module
 */

/** One register as gdb sees it. */
export interface RegDef {
  /** gdb's name (eax, rip, st0, xmm3, fs_base...). */
  readonly name: string;
  /** Size in bits (a multiple of 8). */
  readonly bits: number;
  /** Its type in the description (int, data_ptr, code_ptr, i387_ext, vec128...). */
  readonly type: string;
  /** Register group (general, float, vector), when not the default. */
  readonly group?: string;
  /** The feature it belongs to. */
  readonly feature: string;
}

/** An architecture's register table. */
export interface ArchRegisters {
  /** pvx's name of the mode. */
  readonly mode: "i386" | "x86_64";
  /** gdb's BFD architecture name. */
  readonly gdbArch: string;
  /** The registers in `g` packet order (regnum = index). */
  readonly regs: readonly RegDef[];
  /** Name of the program counter and the stack pointer. */
  readonly pc: string;
  /** The stack pointer's name. */
  readonly sp: string;
}

/** How a target exposes register values (little-endian bytes of the table's size). */
export interface RegisterAccess {
  /** The register's bytes, or null when unavailable. */
  read(name: string): Uint8Array | null;
  /** Sets it; false when the register cannot be written (or the value is refused). */
  write(name: string, bytes: Uint8Array): boolean;
}

const CORE = "org.gnu.gdb.i386.core";
const SSE = "org.gnu.gdb.i386.sse";
const SEGMENTS = "org.gnu.gdb.i386.segments";
/**
 * gdb 13 asserts on org.gnu.gdb.i386.segments in a 32-bit description (its i386 register
 * numbering has no room for it; gdbserver sends it only for x86-64), so a 32-bit target
 * gives fs_base/gs_base in a feature of pvx's own, which gdb shows as plain registers.
 */
const SEGMENTS32 = "org.pvx.i386.segment-bases";

function r(name: string, bits: number, type: string, feature: string, group?: string): RegDef {
  return group === undefined ? { name, bits, type, feature } : { name, bits, type, feature, group };
}

/** The x87 registers shared by both modes (st0-7 and the control registers). */
function x87(): RegDef[] {
  const out: RegDef[] = [];
  for (let i = 0; i < 8; i++) out.push(r(`st${i}`, 80, "i387_ext", CORE));
  for (const n of ["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"]) {
    out.push(r(n, 32, "int", CORE, "float"));
  }
  return out;
}

function segs(): RegDef[] {
  return ["cs", "ss", "ds", "es", "fs", "gs"].map((n) => r(n, 32, "int32", CORE));
}

function sse(count: number): RegDef[] {
  const out: RegDef[] = [];
  for (let i = 0; i < count; i++) out.push(r(`xmm${i}`, 128, "vec128", SSE));
  out.push(r("mxcsr", 32, "i386_mxcsr", SSE, "vector"));
  return out;
}

/** i386 (32-bit PV): 8 GPRs, eip, eflags, 6 segments, x87, xmm0-7, fs_base/gs_base. */
export const I386: ArchRegisters = {
  mode: "i386",
  gdbArch: "i386",
  pc: "eip",
  sp: "esp",
  regs: [
    ...["eax", "ecx", "edx", "ebx"].map((n) => r(n, 32, "int32", CORE)),
    r("esp", 32, "data_ptr", CORE),
    r("ebp", 32, "data_ptr", CORE),
    r("esi", 32, "int32", CORE),
    r("edi", 32, "int32", CORE),
    r("eip", 32, "code_ptr", CORE),
    r("eflags", 32, "i386_eflags", CORE),
    ...segs(),
    ...x87(),
    ...sse(8),
    r("fs_base", 32, "data_ptr", SEGMENTS32, "system"),
    r("gs_base", 32, "data_ptr", SEGMENTS32, "system"),
  ],
};

/** x86-64 (64-bit PV): 16 GPRs, rip, eflags, 6 segments, x87, xmm0-15, fs_base/gs_base. */
export const X86_64: ArchRegisters = {
  mode: "x86_64",
  gdbArch: "i386:x86-64",
  pc: "rip",
  sp: "rsp",
  regs: [
    ...["rax", "rbx", "rcx", "rdx", "rsi", "rdi"].map((n) => r(n, 64, "int64", CORE)),
    r("rbp", 64, "data_ptr", CORE),
    r("rsp", 64, "data_ptr", CORE),
    ...[8, 9, 10, 11, 12, 13, 14, 15].map((i) => r(`r${i}`, 64, "int64", CORE)),
    r("rip", 64, "code_ptr", CORE),
    r("eflags", 32, "i386_eflags", CORE),
    ...segs(),
    ...x87(),
    ...sse(16),
    r("fs_base", 64, "int", SEGMENTS),
    r("gs_base", 64, "int", SEGMENTS),
  ],
};

/** The table of a mode. */
export function archRegisters(mode: "i386" | "x86_64"): ArchRegisters {
  return mode === "x86_64" ? X86_64 : I386;
}

/** Byte offset of each register in the `g` packet, and the total. */
export function gLayout(a: ArchRegisters): { offsets: number[]; size: number } {
  const offsets: number[] = [];
  let size = 0;
  for (const d of a.regs) {
    offsets.push(size);
    size += d.bits / 8;
  }
  return { offsets, size };
}

const EFLAGS_FIELDS: [string, number][] = [
  ["CF", 0],
  ["", 1],
  ["PF", 2],
  ["AF", 4],
  ["ZF", 6],
  ["SF", 7],
  ["TF", 8],
  ["IF", 9],
  ["DF", 10],
  ["OF", 11],
  ["NT", 14],
  ["RF", 16],
  ["VM", 17],
  ["AC", 18],
  ["VIF", 19],
  ["VIP", 20],
  ["ID", 21],
];

const MXCSR_FIELDS: [string, number][] = [
  ["IE", 0],
  ["DE", 1],
  ["ZE", 2],
  ["OE", 3],
  ["UE", 4],
  ["PE", 5],
  ["DAZ", 6],
  ["IM", 7],
  ["DM", 8],
  ["ZM", 9],
  ["OM", 10],
  ["UM", 11],
  ["PM", 12],
  ["FZ", 15],
];

function flags(id: string, fields: [string, number][]): string {
  const body = fields.map(([n, b]) => `    <field name="${n}" start="${b}" end="${b}"/>`);
  return `  <flags id="${id}" size="4">\n${body.join("\n")}\n  </flags>`;
}

/** The types a feature's registers use that gdb does not predefine. */
function typesFor(feature: string): string[] {
  if (feature === CORE) return [flags("i386_eflags", EFLAGS_FIELDS)];
  if (feature !== SSE) return [];
  const vec = (id: string, type: string, count: number) =>
    `  <vector id="${id}" type="${type}" count="${count}"/>`;
  return [
    vec("v4f", "ieee_single", 4),
    vec("v2d", "ieee_double", 2),
    vec("v16i8", "int8", 16),
    vec("v8i16", "int16", 8),
    vec("v4i32", "int32", 4),
    vec("v2i64", "int64", 2),
    [
      `  <union id="vec128">`,
      `    <field name="v4_float" type="v4f"/>`,
      `    <field name="v2_double" type="v2d"/>`,
      `    <field name="v16_int8" type="v16i8"/>`,
      `    <field name="v8_int16" type="v8i16"/>`,
      `    <field name="v4_int32" type="v4i32"/>`,
      `    <field name="v2_int64" type="v2i64"/>`,
      `    <field name="uint128" type="uint128"/>`,
      `  </union>`,
    ].join("\n"),
    flags("i386_mxcsr", MXCSR_FIELDS),
  ];
}

/**
 * The target description (target.xml) of an architecture: one document with every
 * feature inline, registers numbered in `g` order.
 */
export function targetXml(a: ArchRegisters): string {
  const lines = [
    `<?xml version="1.0"?>`,
    `<!DOCTYPE target SYSTEM "gdb-target.dtd">`,
    `<target version="1.0">`,
    `  <architecture>${a.gdbArch}</architecture>`,
  ];
  let feature = "";
  a.regs.forEach((d, regnum) => {
    if (d.feature !== feature) {
      if (feature !== "") lines.push(`</feature>`);
      feature = d.feature;
      lines.push(`<feature name="${feature}">`, ...typesFor(feature));
    }
    const group = d.group ? ` group="${d.group}"` : "";
    lines.push(
      `  <reg name="${d.name}" bitsize="${d.bits}" type="${d.type}" regnum="${regnum}"${group}/>`,
    );
  });
  if (feature !== "") lines.push(`</feature>`);
  lines.push(`</target>`);
  return lines.join("\n") + "\n";
}
