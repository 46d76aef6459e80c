/**
 * The library below the toolstack reaches the host only through interfaces (lib/host_io.ts,
 * the console sink, the disk image, byte sinks): no `Deno.*` call in lib/ outside
 * lib/toolstack, which is what lets the web page bundle it and run it.
 * @module
 */
import { deepStrictEqual } from "node:assert/strict";

const LIB = new URL("../../lib/", import.meta.url);

/**
 * Files allowed an exception, each with the reason and the way out. Remove an entry when
 * its file stops calling Deno (the test then fails on the stale entry).
 */
const PENDING: Record<string, string> = {};

async function* tsFiles(dir: URL, rel = ""): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const r = rel + e.name;
    if (e.isDirectory) yield* tsFiles(new URL(`${e.name}/`, dir), `${r}/`);
    else if (e.name.endsWith(".ts")) yield r;
  }
}

/** Code lines that name the Deno namespace (comments skipped). */
function denoUses(source: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const [i, line] of source.split("\n").entries()) {
    let code = line;
    if (inBlock) {
      const end = code.indexOf("*/");
      if (end < 0) continue;
      code = code.slice(end + 2);
      inBlock = false;
    }
    code = code.replace(/\/\*.*?\*\//g, "");
    const open = code.indexOf("/*");
    if (open >= 0) {
      inBlock = true;
      code = code.slice(0, open);
    }
    code = code.replace(/\/\/.*$/, "").replace(/(["'`])(?:\\.|(?!\1).)*\1/g, '""');
    if (/\bDeno\./.test(code)) out.push(`${i + 1}: ${line.trim()}`);
  }
  return out;
}

Deno.test("lib/ below the toolstack uses no Deno.* API (host I/O goes through interfaces)", async () => {
  const found: Record<string, string[]> = {};
  for await (const f of tsFiles(LIB)) {
    if (f.startsWith("toolstack/") || f in PENDING) continue;
    const uses = denoUses(await Deno.readTextFile(new URL(f, LIB)));
    if (uses.length > 0) found[f] = uses;
  }
  deepStrictEqual(found, {});
  for (const f of Object.keys(PENDING)) {
    const uses = denoUses(await Deno.readTextFile(new URL(f, LIB)).catch(() => ""));
    deepStrictEqual(uses.length > 0, true, `${f} no longer calls Deno: drop it from PENDING`);
  }
});

Deno.test("the Deno.* scan sees code, not comments or strings", () => {
  deepStrictEqual(
    denoUses(
      '/** Deno.open */\n// Deno.x\nconst a = "Deno.y";\nawait Deno.open(p);\n/*\nDeno.z\n*/',
    ),
    ["4: await Deno.open(p);"],
  );
});
