/**
 * xl domain configuration files (xl.cfg(5)): the `key = value` syntax (strings, numbers,
 * lists, `#` comments, `+=`) and the keys pvx boots from, as `pvx boot --domain FILE.cfg`.
 * @module
 */
import { parseGdbEndpoint } from "../gdbstub/mod.ts";
import { readInputText } from "./read_input.ts";
import { dirname, isAbsolute, join } from "node:path";
import { InputError } from "../errors.ts";
import { parseDiskSpec } from "./disk_spec.ts";
import { parseVifSpec } from "./vif_spec.ts";

/** A value of an xl config setting. */
export type XlValue = string | number | string[];

/** One `key = value` (or `key += value`) statement, in file order. */
export interface XlSetting {
  key: string;
  value: XlValue;
  /** The line the statement starts on (1-based). */
  line: number;
}

/** What xl does when a domain powers off, reboots or crashes (xl.cfg(5) "on_*"). */
export type XlAction = "destroy" | "restart" | "preserve";

/** A domain to boot, from an xl config file. */
export interface XlDomainConfig {
  /** The config file, for messages. */
  file: string;
  /** `name` (default: the file name without `.cfg`). */
  name: string;
  /** `kernel`, resolved against the file's directory. */
  kernel: string;
  /** `ramdisk`, resolved likewise. */
  ramdisk?: string;
  /** `cmdline`, or `root=ROOT EXTRA` as xl builds it. */
  cmdline?: string;
  /** `memory` in MiB. */
  memoryMiB?: number;
  /** Virtual CPUs: the larger of `vcpus` and `maxvcpus` (default 1). */
  vcpus: number;
  /** `disk` specs, with relative targets resolved (canonical xl syntax). */
  disks: string[];
  /** `vif` specs, as written (validated). */
  vifs: string[];
  onPoweroff: XlAction;
  onReboot: XlAction;
  onCrash: XlAction;
  /** `gdb = "PORT"` or `"unix:PATH"` (pvx): a gdb stub for this domain. */
  gdb?: string;
  /** `gdb_wait = 1` (pvx): stop before the first instruction until gdb continues. */
  gdbWait?: boolean;
  /** Warnings (unknown keys, ignored settings), one line each, naming file:line. */
  warnings: string[];
}

/** Keys pvx reads; anything else gets a warning. */
const KNOWN = new Set([
  "name",
  "kernel",
  "ramdisk",
  "cmdline",
  "root",
  "extra",
  "memory",
  "maxmem",
  "vcpus",
  "maxvcpus",
  "disk",
  "vif",
  "on_poweroff",
  "on_reboot",
  "on_crash",
  "type",
  "builder",
  "uuid",
  "gdb",
  "gdb_wait",
]);

/** xl's action names, mapped onto what pvx can do with a domain that stopped. */
const ACTIONS: Record<string, XlAction> = {
  destroy: "destroy",
  restart: "restart",
  "rename-restart": "restart",
  preserve: "preserve",
  "coredump-destroy": "destroy",
  "coredump-restart": "restart",
};

type Tok =
  | { t: "id"; v: string; line: number }
  | { t: "str"; v: string; line: number }
  | { t: "num"; v: number; line: number }
  | { t: "op"; v: "=" | "+=" | "[" | "]" | "," | ";" | "\n"; line: number }
  | { t: "eof"; line: number };

const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  "\\": "\\",
  '"': '"',
  "'": "'",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
};

/** Splits config text into tokens; newlines are tokens (statement ends). */
function tokenize(text: string, file: string): Tok[] {
  const out: Tok[] = [];
  let line = 1;
  let i = 0;
  const fail = (msg: string): never => {
    throw new InputError(`Invalid xl config "${file}:${line}": ${msg}`);
  };
  while (i < text.length) {
    const c = text[i];
    if (c === "\n") {
      out.push({ t: "op", v: "\n", line });
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r") i++;
    else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "=" || c === "[" || c === "]" || c === "," || c === ";") {
      out.push({ t: "op", v: c, line });
      i++;
    } else if (c === "+" && text[i + 1] === "=") {
      out.push({ t: "op", v: "+=", line });
      i += 2;
    } else if (c === '"' || c === "'") {
      const start = line;
      let s = "";
      i++;
      for (;;) {
        if (i >= text.length || text[i] === "\n") {
          line = start;
          fail(`unterminated string`);
        }
        const d = text[i];
        if (d === c) break;
        if (d === "\\" && c === '"') {
          const e = text[i + 1];
          if (e === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
            s += String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16));
            i += 4;
            continue;
          }
          if (e === undefined || !(e in ESCAPES)) fail(`bad escape "\\${e ?? ""}" in a string`);
          s += ESCAPES[e];
          i += 2;
          continue;
        }
        s += d;
        i++;
      }
      i++;
      out.push({ t: "str", v: s, line: start });
    } else if (/[0-9]/.test(c)) {
      const m = /^(0x[0-9a-fA-F]+|[0-9]+)(?![\w.])/.exec(text.slice(i, i + 40));
      if (!m) fail(`bad number "${/^[\w.]+/.exec(text.slice(i))![0]}"`);
      out.push({ t: "num", v: Number(m![1]), line });
      i += m![1].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][\w.]*/.exec(text.slice(i, i + 256))!;
      out.push({ t: "id", v: m[0], line });
      i += m[0].length;
    } else fail(`unexpected character "${c}"`);
  }
  out.push({ t: "eof", line });
  return out;
}

/**
 * Parses xl config text into its statements (no key semantics).
 * @param text the file's contents
 * @param file its name, for messages
 * @returns the settings in file order (`+=` already applied to earlier values)
 * @throws InputError naming file:line for a syntax error
 * @example
 * ```ts
 * parseXlSettings("name = 'a'\nvif = [ 'bridge=xenbr0' ]\n", "a.cfg");
 * ```
 */
export function parseXlSettings(text: string, file: string): XlSetting[] {
  const toks = tokenize(text, file);
  const out: XlSetting[] = [];
  const byKey = new Map<string, XlSetting>();
  let p = 0;
  const fail = (tok: Tok, msg: string): never => {
    throw new InputError(`Invalid xl config "${file}:${tok.line}": ${msg}`);
  };
  const describe = (tok: Tok) =>
    tok.t === "eof"
      ? "end of file"
      : tok.t === "op"
      ? tok.v === "\n" ? "end of line" : `"${tok.v}"`
      : `"${tok.v}"`;
  const isOp = (tok: Tok, v: string) => tok.t === "op" && tok.v === v;
  const skipNewlines = () => {
    while (isOp(toks[p], "\n")) p++;
  };
  for (;;) {
    while (isOp(toks[p], "\n") || isOp(toks[p], ";")) p++;
    const k = toks[p];
    if (k.t === "eof") break;
    if (k.t !== "id") fail(k, `expected a setting name, found ${describe(k)}`);
    const key = (k as { v: string }).v;
    p++;
    const op = toks[p];
    if (!isOp(op, "=") && !isOp(op, "+=")) fail(op, `expected "=" after "${key}"`);
    p++;
    const v = toks[p];
    let value: XlValue;
    if (v.t === "str" || v.t === "num") {
      value = v.v;
      p++;
    } else if (isOp(v, "[")) {
      p++;
      const items: string[] = [];
      for (;;) {
        skipNewlines();
        const it = toks[p];
        if (isOp(it, "]")) break;
        if (it.t === "str") items.push(it.v);
        else if (it.t === "num") items.push(String(it.v));
        else if (isOp(it, "[")) fail(it, `nested lists are not supported`);
        else fail(it, `expected a list item or "]", found ${describe(it)}`);
        p++;
        skipNewlines();
        const sep = toks[p];
        if (isOp(sep, ",")) p++;
        else if (!isOp(sep, "]")) fail(sep, `expected "," or "]", found ${describe(sep)}`);
      }
      p++;
      value = items;
    } else {
      value = fail(v, `expected a value for "${key}", found ${describe(v)}`);
    }
    const end = toks[p];
    if (!isOp(end, "\n") && !isOp(end, ";") && end.t !== "eof") {
      fail(end, `expected the end of the "${key}" setting, found ${describe(end)}`);
    }
    const prev = byKey.get(key);
    if (isOp(op, "+=") && prev) {
      if (Array.isArray(prev.value) && Array.isArray(value)) {
        value = [...prev.value, ...value];
      } else if (typeof prev.value === "string" && typeof value === "string") {
        value = prev.value + value;
      } else fail(op, `"+=" needs two lists or two strings for "${key}"`);
    }
    const s: XlSetting = { key, value, line: k.line };
    byKey.set(key, s);
    out.push(s);
  }
  return out;
}

/**
 * Maps an xl config file's text to a domain to boot.
 * @param text the contents
 * @param file the path (relative paths in it resolve against its directory)
 * @returns the domain
 * @throws InputError naming file:line for bad syntax, a bad value, a missing kernel,
 *   a type other than pv, or more than 32 vcpus
 * @example
 * ```ts
 * const d = parseXlConfig("name='a'\nkernel='a.elf'\nmemory=32\n", "/vm/a.cfg");
 * d.kernel; // "/vm/a.elf"
 * ```
 */
export function parseXlConfig(text: string, file: string): XlDomainConfig {
  const settings = parseXlSettings(text, file);
  const last = new Map<string, XlSetting>();
  const warnings: string[] = [];
  for (const s of settings) {
    if (KNOWN.has(s.key)) last.set(s.key, s);
    else warnings.push(`${file}:${s.line}: unknown setting "${s.key}" ignored`);
  }
  const bad = (s: XlSetting, msg: string): never => {
    throw new InputError(`Invalid xl config "${file}:${s.line}": ${msg}`);
  };
  const str = (key: string): string | undefined => {
    const s = last.get(key);
    if (!s) return undefined;
    if (typeof s.value !== "string") bad(s, `"${key}" must be a string`);
    return s.value as string;
  };
  const num = (key: string, min: number, max: number): number | undefined => {
    const s = last.get(key);
    if (!s) return undefined;
    const v = typeof s.value === "string" && /^\d+$/.test(s.value) ? Number(s.value) : s.value;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      bad(s, `"${key}" must be a whole number from ${min} to ${max}`);
    }
    return v as number;
  };
  const list = (key: string): { items: string[]; line: number } => {
    const s = last.get(key);
    if (!s) return { items: [], line: 0 };
    if (!Array.isArray(s.value)) bad(s, `"${key}" must be a list [ '...', ... ]`);
    return { items: s.value as string[], line: s.line };
  };
  const dir = dirname(file);
  const resolve = (p: string) => (isAbsolute(p) ? p : join(dir, p));

  const type = str("type");
  if (type !== undefined && type !== "pv") {
    bad(last.get("type")!, `type "${type}" is not supported: pvx boots PV domains (type = "pv")`);
  }
  const builder = str("builder");
  if (builder !== undefined && builder !== "generic") {
    bad(last.get("builder")!, `builder "${builder}" is not supported: pvx boots PV domains`);
  }
  // A 32-bit PV domain has at most XEN_LEGACY_MAX_VCPUS (32); vcpu 0 boots and the guest
  // brings up the others (VCPUOP_up), so the domain gets max(vcpus, maxvcpus).
  const vcpusOnline = num("vcpus", 1, 32);
  const maxvcpus = num("maxvcpus", 1, 32);
  const vcpus = Math.max(vcpusOnline ?? 1, maxvcpus ?? 1);
  const base = file.split("/").pop()!.replace(/\.cfg$/, "");
  const name = str("name") ?? base;
  // xl takes any name; pvx refuses only what would garble its console prefixes and paths.
  if (!/^[\x21-\x7e]{1,64}$/.test(name) || name.includes("/")) {
    bad(
      last.get("name")!,
      `bad domain name "${name}" (1 to 64 printable characters, no spaces or "/")`,
    );
  }
  const kernel = str("kernel");
  if (kernel === undefined || kernel === "") {
    throw new InputError(`Invalid xl config "${file}": no kernel given (kernel = "FILE")`);
  }
  const ramdisk = str("ramdisk");
  const memoryMiB = num("memory", 4, 1536);
  const maxmem = num("maxmem", 4, 1 << 20);
  if (maxmem !== undefined && maxmem !== (memoryMiB ?? 64)) {
    warnings.push(
      `${file}:${last.get("maxmem")!.line}: maxmem ignored (pvx gives a domain its memory)`,
    );
  }
  // xl: cmdline wins over root/extra; otherwise "root=ROOT EXTRA" (libxl's parse_cmdline).
  const cmdlineRaw = str("cmdline");
  const root = str("root");
  const extra = str("extra");
  let cmdline: string | undefined;
  if (cmdlineRaw !== undefined) {
    cmdline = cmdlineRaw;
    if (root !== undefined || extra !== undefined) {
      warnings.push(`${file}: root and extra ignored in favour of cmdline`);
    }
  } else if (root !== undefined) cmdline = `root=${root}${extra ? ` ${extra}` : ""}`;
  else if (extra !== undefined) cmdline = extra;

  const disk = list("disk");
  const disks = disk.items.map((spec, i) => {
    let d;
    try {
      d = parseDiskSpec(spec, i);
    } catch (e) {
      throw new InputError(`Invalid xl config "${file}:${disk.line}": ${(e as Error).message}`);
    }
    return [
      "format=raw",
      `vdev=${d.vdev}`,
      `access=${d.readonly ? "ro" : "rw"}`,
      `devtype=${d.devtype}`,
      ...(d.snapshot ? ["snapshot"] : []),
      d.discard ? "discard" : "no-discard",
      `target=${resolve(d.target)}`,
    ].join(", ");
  });
  const vif = list("vif");
  for (const spec of vif.items) {
    try {
      parseVifSpec(spec);
    } catch (e) {
      throw new InputError(`Invalid xl config "${file}:${vif.line}": ${(e as Error).message}`);
    }
  }
  const action = (key: string, dflt: XlAction): XlAction => {
    const v = str(key);
    if (v === undefined) return dflt;
    const a = ACTIONS[v];
    if (!a) {
      bad(
        last.get(key)!,
        `${key} = "${v}" is not one of ${Object.keys(ACTIONS).join(", ")}`,
      );
    }
    if (v.startsWith("coredump-") || v === "rename-restart") {
      warnings.push(`${file}:${last.get(key)!.line}: ${key} "${v}" runs as "${a}" in pvx`);
    }
    return a;
  };
  const gdbSetting = last.get("gdb");
  let gdb: string | undefined;
  if (gdbSetting) {
    gdb = typeof gdbSetting.value === "number" ? String(gdbSetting.value) : str("gdb");
    try {
      parseGdbEndpoint(gdb ?? "");
    } catch (e) {
      bad(gdbSetting, (e as Error).message.replace(/^Cannot use --gdb/, "gdb"));
    }
  }
  const gdbWait = num("gdb_wait", 0, 1);
  return {
    file,
    name,
    gdb,
    gdbWait: gdbWait === 1,
    kernel: resolve(kernel),
    ramdisk: ramdisk ? resolve(ramdisk) : undefined,
    cmdline,
    memoryMiB,
    vcpus,
    disks,
    vifs: vif.items,
    onPoweroff: action("on_poweroff", "destroy"),
    onReboot: action("on_reboot", "restart"),
    onCrash: action("on_crash", "destroy"),
    warnings,
  };
}

/**
 * Reads and parses an xl config file.
 * @param path the file
 * @throws InputError when it cannot be read or does not parse
 */
export async function loadXlConfig(path: string): Promise<XlDomainConfig> {
  return parseXlConfig(await readInputText(path, "xl config"), path);
}
