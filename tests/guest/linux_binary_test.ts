/**
 * A real Linux i386 program (gcc -m32 -static, glibc) runs unmodified as a pvx-guest
 * process: its start-up (auxv, set_thread_area TLS through the GDT, brk, getrandom...),
 * malloc, stdio (writev/write), errno (a TLS variable) and exit status. Built at test
 * time where gcc-multilib's static glibc is present, passed as a --ramdisk archive.
 * @module
 */
import assert, { deepStrictEqual } from "node:assert/strict";
import { buildArchive } from "../../tools/mkarchive.ts";
import { boot as run } from "../../lib/toolstack/boot.ts";
import { MemorySink } from "../../lib/console/testing.ts";

const IMAGE = new URL("../../guest/pvx-guest.elf", import.meta.url).pathname;

const SOURCE = `#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
static __thread int tls_counter = 5;
int main(int argc, char **argv) {
  char *p = malloc(1000);
  strcpy(p, "heap");
  int fd = open("/no/such/file", O_RDONLY);
  int err = errno;
  struct utsname u;
  uname(&u);
  tls_counter += 2;
  printf("glibc %s on %s: %s, open %d errno %d, tls %d, pid %d\\n", argv[0], u.sysname, p, fd,
         err, tls_counter, getpid() > 0);
  return 17;
}
`;

async function buildProgram(dir: string): Promise<Uint8Array | null> {
  try {
    await Deno.writeTextFile(`${dir}/p.c`, SOURCE);
    const r = await new Deno.Command("gcc", {
      args: ["-m32", "-static", "-O2", "-Wl,--build-id=none", "-o", `${dir}/p`, `${dir}/p.c`],
      stdout: "null",
      stderr: "null",
    }).output();
    return r.success ? await Deno.readFile(`${dir}/p`) : null;
  } catch {
    return null;
  }
}

const dir = await Deno.makeTempDir({ prefix: "pvx-linux-" });
const program = await buildProgram(dir);
if (program === null) await Deno.remove(dir, { recursive: true });

Deno.test({
  name: "a static glibc i386 program runs in pvx-guest user mode with TLS, errno and stdio",
  ignore: program === null, // needs gcc -m32 -static (gcc-multilib)
  async fn() {
    try {
      await Deno.writeFile(`${dir}/a.pvxa`, buildArchive([{ name: "glibc", data: program! }]));
      const sink = new MemorySink(1 << 20, 1 << 18);
      sink.type("run glibc\npoweroff\n");
      const code = await run({
        image: IMAGE,
        ramdisk: `${dir}/a.pvxa`,
        console: sink,
        noReboot: true,
        maxInstructions: 2_000_000_000,
        log: () => {},
      });
      await sink.close();
      const text = sink.text();
      assert(
        text.includes(
          "glibc glibc on pvx: heap, open -1 errno 2, tls 7, pid 1\nrun: glibc exited with 17",
        ),
        text,
      );
      deepStrictEqual(code, 0, text);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
