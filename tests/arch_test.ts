/**
 * The architecture check (tools/arch.ts): the repository keeps its shape, and the checker
 * catches each kind of violation planted in a fake tree and in a copy of the repository.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { analyzeTree, exportedConstants, readTree } from "../tools/arch.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("the repository has no architecture violation", async () => {
  const report = analyzeTree(await readTree(ROOT));
  deepStrictEqual(report.violations.map((v) => v.message), []);
  deepStrictEqual(report.packageCycles, []);
  strictEqual(report.duplicates.size, 0);
});

/** A minimal well-formed tree; each test adds one violation to it. */
function tree(extra: Record<string, string> = {}): Map<string, string> {
  return new Map(Object.entries({
    "lib/errors.ts": "export class InputError extends Error {}\n",
    "lib/abi/mod.ts": 'export * from "./xen.ts";\n',
    "lib/abi/xen.ts": "export const DOMID_SELF = 0x7ff0;\n",
    "lib/cpu/mod.ts": 'export { Cpu } from "./core.ts";\n',
    "lib/cpu/core.ts": 'import { PAGE } from "../abi/mod.ts";\nexport class Cpu {}\n',
    "lib/hypervisor/mod.ts": 'export { Machine } from "./machine.ts";\n',
    "lib/hypervisor/machine.ts": 'import { Cpu } from "../cpu/mod.ts";\n' +
      'import { InputError } from "../errors.ts";\nexport class Machine {}\n',
    "lib/console/mod.ts": 'import { Machine } from "../hypervisor/mod.ts";\n',
    "lib/blkfront/mod.ts": 'import { Machine } from "../hypervisor/mod.ts";\n',
    "tools/boot.ts": 'import { Machine } from "../lib/hypervisor/mod.ts";\n',
    "cli.ts": 'const { run } = await import("./tools/boot.ts");\n',
    ...extra,
  }));
}

function kinds(files: Map<string, string>): string[] {
  return analyzeTree(files).violations.map((v) => v.kind).sort();
}

Deno.test("a well-formed tree passes", () => {
  deepStrictEqual(kinds(tree()), []);
});

Deno.test("an upward import between packages is a layer violation", () => {
  const t = tree({ "lib/cpu/core.ts": 'import { Machine } from "../hypervisor/mod.ts";\n' });
  deepStrictEqual(kinds(t), ["cycle", "layer"]);
  ok(
    analyzeTree(t).violations.some((v) =>
      /cpu \(layer \d\) may not import hypervisor/.test(v.message)
    ),
  );
});

Deno.test("a package on the same layer is not importable either", () => {
  const t = tree({ "lib/console/mod.ts": 'import { X } from "../blkfront/mod.ts";\n' });
  deepStrictEqual(kinds(t), ["layer"]);
});

Deno.test("a deep import into another package is a face violation", () => {
  const t = tree({
    "tools/boot.ts": 'import { Machine } from "../lib/hypervisor/machine/machine.ts";\n',
  });
  deepStrictEqual(kinds(t), ["face"]);
});

Deno.test("an import cycle between packages is reported", () => {
  const t = tree({
    "lib/console/mod.ts": 'import { X } from "../blkfront/mod.ts";\n',
    "lib/blkfront/mod.ts": 'import { Y } from "../console/mod.ts";\n',
  });
  const r = analyzeTree(t);
  deepStrictEqual(r.packageCycles, [["blkfront", "console"]]);
  ok(r.violations.some((v) => v.kind === "cycle"));
});

Deno.test("an exported constant defined in two files is reported; a re-export is not", () => {
  const dup = tree({ "lib/hypervisor/domain.ts": "export const DOMID_SELF = 0x7ff0;\n" });
  deepStrictEqual(kinds(dup), ["duplicate"]);
  const reexport = tree({
    "lib/hypervisor/domain.ts": 'export { DOMID_SELF } from "../abi/mod.ts";\n',
  });
  deepStrictEqual(kinds(reexport), []);
  deepStrictEqual(exportedConstants("export const A = 1, B = f(2, 3), C: number = 4;\n"), [
    "A",
    "B",
    "C",
  ]);
});

Deno.test("a file over 600 lines in lib/ or tools/ is reported", () => {
  const long = "export const x = 1;\n" + "// filler\n".repeat(600);
  deepStrictEqual(kinds(tree({ "lib/hypervisor/huge.ts": long })), ["size"]);
  deepStrictEqual(kinds(tree({ "tools/huge.ts": long.replace("x", "y") })), ["size"]);
});

Deno.test("a package without a layer is reported", () => {
  deepStrictEqual(kinds(tree({ "lib/newpkg/mod.ts": "export const z = 1;\n" })), [
    "unknown-package",
  ]);
});

Deno.test("deno task arch fails on a violation planted in a copy of the repository", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pvx-arch-" });
  try {
    for (const [path, text] of await readTree(ROOT)) {
      await Deno.mkdir(`${dir}/${path.slice(0, path.lastIndexOf("/") + 1)}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, text);
    }
    const run = async () => {
      const cmd = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${ROOT}/tools/arch.ts`, "--root", dir],
        stdout: "piped",
        stderr: "piped",
      });
      const out = await cmd.output();
      return { code: out.code, err: new TextDecoder().decode(out.stderr) };
    };
    strictEqual((await run()).code, 0);
    // the paging model reaching up into the hypervisor
    const victim = `${dir}/lib/paging/p2m.ts`;
    await Deno.writeTextFile(
      victim,
      'import { Machine } from "../hypervisor/mod.ts";\n' + await Deno.readTextFile(victim),
    );
    const bad = await run();
    strictEqual(bad.code, 1);
    ok(bad.err.includes("lib/paging/p2m.ts imports lib/hypervisor/mod.ts"), bad.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
