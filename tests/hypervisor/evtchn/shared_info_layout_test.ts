import assert from "node:assert/strict";
import {
  EVTCHN_2L_NR_CHANNELS_32,
  EVTCHN_WORDS_32,
  SHARED_INFO_EVTCHN_MASK,
  SHARED_INFO_EVTCHN_PENDING,
  SHARED_INFO_SIZE_32,
  VCPU_INFO_PENDING_SEL,
  VCPU_INFO_SIZE,
  VCPU_INFO_UPCALL_MASK,
  VCPU_INFO_UPCALL_PENDING,
  XEN_LEGACY_MAX_VCPUS,
} from "../../../lib/hypervisor/evtchn/mod.ts";

const PROGRAM = `
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/event_channel.h>
int main(void) {
  printf("vcpu_info_size %zu\\n", sizeof(struct vcpu_info));
  printf("upcall_pending %zu\\n", offsetof(struct vcpu_info, evtchn_upcall_pending));
  printf("upcall_mask %zu\\n", offsetof(struct vcpu_info, evtchn_upcall_mask));
  printf("pending_sel %zu\\n", offsetof(struct vcpu_info, evtchn_pending_sel));
  printf("evtchn_pending %zu\\n", offsetof(struct shared_info, evtchn_pending));
  printf("evtchn_mask %zu\\n", offsetof(struct shared_info, evtchn_mask));
  printf("shared_info_size %zu\\n", sizeof(struct shared_info));
  printf("words %zu\\n", sizeof(((struct shared_info *)0)->evtchn_pending) / sizeof(xen_ulong_t));
  printf("legacy_vcpus %d\\n", XEN_LEGACY_MAX_VCPUS);
  printf("nr_channels %zu\\n", (size_t)EVTCHN_2L_NR_CHANNELS);
  return 0;
}
`;

async function haveGcc32(): Promise<boolean> {
  try {
    await Deno.stat("/usr/include/xen/xen.h");
    const r = await new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return r.success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "shared_info/vcpu_info offsets match the C layout compiled with gcc -m32",
  ignore: !(await haveGcc32()),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/off.c`, PROGRAM);
      const cc = await new Deno.Command("gcc", {
        args: ["-m32", "-o", `${dir}/off`, `${dir}/off.c`],
        stderr: "piped",
      }).output();
      assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
      const run = await new Deno.Command(`${dir}/off`).output();
      assert.ok(run.success);
      const got = new Map<string, number>();
      for (const line of new TextDecoder().decode(run.stdout).trim().split("\n")) {
        const [k, v] = line.split(" ");
        got.set(k, Number(v));
      }
      assert.deepEqual(Object.fromEntries(got), {
        vcpu_info_size: VCPU_INFO_SIZE,
        upcall_pending: VCPU_INFO_UPCALL_PENDING,
        upcall_mask: VCPU_INFO_UPCALL_MASK,
        pending_sel: VCPU_INFO_PENDING_SEL,
        evtchn_pending: SHARED_INFO_EVTCHN_PENDING,
        evtchn_mask: SHARED_INFO_EVTCHN_MASK,
        shared_info_size: SHARED_INFO_SIZE_32,
        words: EVTCHN_WORDS_32,
        legacy_vcpus: XEN_LEGACY_MAX_VCPUS,
        nr_channels: EVTCHN_2L_NR_CHANNELS_32,
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
