/**
 * The committed guest images are what their sources build: a clean `make` of a copy of
 * guest/ reproduces guest/pvx-guest.elf and guest/pvx-guest64.elf byte for byte, where gcc -m32 is present and gcc
 * and ld are the versions recorded in guest/TOOLCHAIN (other versions emit other code).
 * @module
 */
import assert, { deepStrictEqual } from "node:assert/strict";

const GUEST = new URL("../../guest/", import.meta.url).pathname;

async function run(cmd: string, args: string[], cwd?: string): Promise<Deno.CommandOutput> {
  return await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
}

/** Whether gcc can build 32-bit objects here (gcc-multilib). */
async function haveToolchain(): Promise<boolean> {
  try {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/t.c`, "int f(void) { return 1; }\n");
    const r = await run("gcc", ["-m32", "-c", "-o", `${dir}/t.o`, `${dir}/t.c`]);
    const l = await run("gcc", ["-m32", "-print-libgcc-file-name"]);
    await Deno.remove(dir, { recursive: true });
    const libgcc = new TextDecoder().decode(l.stdout).trim();
    return r.success && libgcc !== "" && (await Deno.stat(libgcc).catch(() => null)) !== null;
  } catch {
    return false;
  }
}

async function copyTree(src: string, dst: string): Promise<void> {
  await Deno.mkdir(dst, { recursive: true });
  for await (const e of Deno.readDir(src)) {
    if (["build", "build64", "pvx-guest.elf", "pvx-guest64.elf"].includes(e.name)) continue;
    if (e.isDirectory) await copyTree(`${src}/${e.name}`, `${dst}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${src}/${e.name}`, `${dst}/${e.name}`);
  }
}

/** Whether gcc and ld are the versions the committed image was built with (guest/TOOLCHAIN). */
async function sameToolchain(): Promise<boolean> {
  const first = async (cmd: string) =>
    new TextDecoder().decode((await run(cmd, ["--version"])).stdout).split("\n")[0].trim();
  const want = (await Deno.readTextFile(`${GUEST}/TOOLCHAIN`)).trim().split("\n");
  return want[0] === await first("gcc") && want[1] === await first("ld");
}

const toolchain = await haveToolchain() && await sameToolchain();

Deno.test({
  name:
    "make -C guest reproduces the committed pvx-guest.elf and pvx-guest64.elf when built in another directory",
  ignore: !toolchain,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "pvx-guest-" });
    try {
      await copyTree(GUEST, `${dir}/guest`);
      const r = await run("make", ["-s", "-C", `${dir}/guest`]);
      assert(r.success, new TextDecoder().decode(r.stderr));
      for (const name of ["pvx-guest.elf", "pvx-guest64.elf"]) {
        const built = await Deno.readFile(`${dir}/guest/${name}`);
        const committed = await Deno.readFile(`${GUEST}/${name}`);
        deepStrictEqual(built.length, committed.length, `${name} size differs: rebuild guest/`);
        const first = built.findIndex((b, i) => b !== committed[i]);
        deepStrictEqual(first, -1, `${name} differs from byte ${first}: run "deno task guest"`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("pvx-guest.elf carries the Xen notes pvx boot needs", async () => {
  const img = await Deno.readFile(`${GUEST}/pvx-guest.elf`);
  const text = new TextDecoder("latin1").decode(img);
  for (
    const s of [
      "xen-3.0",
      "!writable_page_tables|pae_pgdir_above_4gb|auto_translated_physmap",
      "generic",
      "PVXARC01",
    ]
  ) assert(text.includes(s), `missing ${s}`);
  deepStrictEqual([...img.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  deepStrictEqual(img[4], 1, "ELFCLASS32");
});
