/**
 * Every offset and size of the per-width layout tables against gcc compiling Xen's
 * public headers for i386 (-m32) and x86_64 (-m64): the compiler is the reference.
 */
import assert from "node:assert/strict";
import {
  guestLayout,
  type Layout,
  LAYOUT_X86_32,
  LAYOUT_X86_64,
} from "../../lib/abi/guest_layout.ts";

/** Per table: the C type and the C member designator of each field. */
const C_NAMES: Record<string, { c: string; fields: Record<string, string> }> = {
  startInfo: {
    c: "struct start_info",
    fields: {
      magic: "magic",
      nrPages: "nr_pages",
      sharedInfo: "shared_info",
      flags: "flags",
      storeMfn: "store_mfn",
      storeEvtchn: "store_evtchn",
      consoleDomUMfn: "console.domU.mfn",
      consoleDomUEvtchn: "console.domU.evtchn",
      ptBase: "pt_base",
      nrPtFrames: "nr_pt_frames",
      mfnList: "mfn_list",
      modStart: "mod_start",
      modLen: "mod_len",
      cmdLine: "cmd_line",
      firstP2mPfn: "first_p2m_pfn",
      nrP2mFrames: "nr_p2m_frames",
    },
  },
  sharedInfo: {
    c: "struct shared_info",
    fields: {
      vcpuInfo: "vcpu_info",
      evtchnPending: "evtchn_pending",
      evtchnMask: "evtchn_mask",
      wcVersion: "wc_version",
      wcSec: "wc_sec",
      wcNsec: "wc_nsec",
      archMaxPfn: "arch.max_pfn",
      archPfnToMfnFrameListList: "arch.pfn_to_mfn_frame_list_list",
      archNmiReason: "arch.nmi_reason",
      archP2mCr3: "arch.p2m_cr3",
      archP2mVaddr: "arch.p2m_vaddr",
      archP2mGeneration: "arch.p2m_generation",
      wcSecHi: "xen_wc_sec_hi",
    },
  },
  vcpuInfo: {
    c: "struct vcpu_info",
    fields: {
      evtchnUpcallPending: "evtchn_upcall_pending",
      evtchnUpcallMask: "evtchn_upcall_mask",
      evtchnPendingSel: "evtchn_pending_sel",
      arch: "arch",
      archCr2: "arch.cr2",
      archPad: "arch.pad",
      time: "time",
    },
  },
  vcpuTimeInfo: {
    c: "struct vcpu_time_info",
    fields: {
      version: "version",
      tscTimestamp: "tsc_timestamp",
      systemTime: "system_time",
      tscToSystemMul: "tsc_to_system_mul",
      tscShift: "tsc_shift",
      flags: "flags",
    },
  },
  cpuUserRegs: {
    c: "struct cpu_user_regs",
    fields: {
      r15: "r15",
      r14: "r14",
      r13: "r13",
      r12: "r12",
      rbp: "rbp",
      rbx: "rbx",
      r11: "r11",
      r10: "r10",
      r9: "r9",
      r8: "r8",
      rax: "rax",
      rcx: "rcx",
      rdx: "rdx",
      rsi: "rsi",
      rdi: "rdi",
      ebx: "ebx",
      ecx: "ecx",
      edx: "edx",
      esi: "esi",
      edi: "edi",
      ebp: "ebp",
      eax: "eax",
      errorCode: "error_code",
      entryVector: "entry_vector",
      rip: "rip",
      eip: "eip",
      cs: "cs",
      savedUpcallMask: "saved_upcall_mask",
      rflags: "rflags",
      eflags: "eflags",
      rsp: "rsp",
      esp: "esp",
      ss: "ss",
      es: "es",
      ds: "ds",
      fs: "fs",
      gs: "gs",
    },
  },
  trapInfo: {
    c: "struct trap_info",
    fields: { vector: "vector", flags: "flags", cs: "cs", address: "address" },
  },
  vcpuGuestContext: {
    c: "struct vcpu_guest_context",
    fields: {
      fpuCtxt: "fpu_ctxt",
      flags: "flags",
      userRegs: "user_regs",
      trapCtxt: "trap_ctxt",
      ldtBase: "ldt_base",
      ldtEnts: "ldt_ents",
      gdtFrames: "gdt_frames",
      gdtEnts: "gdt_ents",
      kernelSs: "kernel_ss",
      kernelSp: "kernel_sp",
      ctrlreg: "ctrlreg",
      debugreg: "debugreg",
      eventCallbackCs: "event_callback_cs",
      eventCallbackEip: "event_callback_eip",
      failsafeCallbackCs: "failsafe_callback_cs",
      failsafeCallbackEip: "failsafe_callback_eip",
      syscallCallbackEip: "syscall_callback_eip",
      vmAssist: "vm_assist",
      fsBase: "fs_base",
      gsBaseKernel: "gs_base_kernel",
      gsBaseUser: "gs_base_user",
    },
  },
  iretContext: {
    c: "struct iret_context",
    fields: {
      rax: "rax",
      r11: "r11",
      rcx: "rcx",
      flags: "flags",
      rip: "rip",
      cs: "cs",
      rflags: "rflags",
      rsp: "rsp",
      ss: "ss",
    },
  },
  multicallEntry: {
    c: "struct multicall_entry",
    fields: { op: "op", result: "result", args: "args" },
  },
  mmuUpdate: { c: "struct mmu_update", fields: { ptr: "ptr", val: "val" } },
  mmuextOp: { c: "struct mmuext_op", fields: { cmd: "cmd", arg1: "arg1", arg2: "arg2" } },
  vcpuRunstateInfo: {
    c: "struct vcpu_runstate_info",
    fields: { state: "state", stateEntryTime: "state_entry_time", time: "time" },
  },
  callbackRegister: {
    c: "struct callback_register",
    fields: { type: "type", flags: "flags", address: "address" },
  },
  memoryReservation: {
    c: "struct xen_memory_reservation",
    fields: {
      extentStart: "extent_start",
      nrExtents: "nr_extents",
      extentOrder: "extent_order",
      memFlags: "mem_flags",
      domid: "domid",
    },
  },
  memoryExchange: {
    c: "struct xen_memory_exchange",
    fields: { in: "in", out: "out", nrExchanged: "nr_exchanged" },
  },
  machphysMapping: {
    c: "struct xen_machphys_mapping",
    fields: { vStart: "v_start", vEnd: "v_end", maxMfn: "max_mfn" },
  },
  addToPhysmap: {
    c: "struct xen_add_to_physmap",
    fields: { domid: "domid", sizeField: "size", space: "space", idx: "idx", gpfn: "gpfn" },
  },
  removeFromPhysmap: {
    c: "struct xen_remove_from_physmap",
    fields: { domid: "domid", gpfn: "gpfn" },
  },
  memoryMap: { c: "struct xen_memory_map", fields: { nrEntries: "nr_entries", buffer: "buffer" } },
  gnttabSetupTable: {
    c: "struct gnttab_setup_table",
    fields: { dom: "dom", nrFrames: "nr_frames", status: "status", frameList: "frame_list" },
  },
  gnttabCopy: {
    c: "struct gnttab_copy",
    fields: {
      sourceURef: "source.u.ref",
      sourceDomid: "source.domid",
      sourceOffset: "source.offset",
      destURef: "dest.u.ref",
      destDomid: "dest.domid",
      destOffset: "dest.offset",
      len: "len",
      flags: "flags",
      status: "status",
    },
  },
  gnttabGetStatusFrames: {
    c: "struct gnttab_get_status_frames",
    fields: { nrFrames: "nr_frames", dom: "dom", status: "status", frameList: "frame_list" },
  },
  schedPoll: {
    c: "struct sched_poll",
    fields: { ports: "ports", nrPorts: "nr_ports", timeout: "timeout" },
  },
  vcpuSetSingleshotTimer: {
    c: "struct vcpu_set_singleshot_timer",
    fields: { timeoutAbsNs: "timeout_abs_ns", flags: "flags" },
  },
  platformParameters: { c: "struct xen_platform_parameters", fields: { virtStart: "virt_start" } },
  registerRunstateArea: {
    c: "struct vcpu_register_runstate_memory_area",
    fields: { addr: "addr" },
  },
};

const HEADERS = [
  "xen.h",
  "memory.h",
  "grant_table.h",
  "sched.h",
  "vcpu.h",
  "callback.h",
  "version.h",
];

function haveTool(): boolean {
  try {
    Deno.statSync("/usr/include/xen/xen.h");
    return new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
const have = haveTool();

/** Compiles and runs a program printing "table field value" lines for one width. */
function compilerLayout(width: 32 | 64): Map<string, number> {
  const layout = guestLayout(width) as unknown as Record<string, Layout<string>>;
  const lines = ["#include <stddef.h>", "#include <stdio.h>", "#include <stdint.h>"];
  for (const h of HEADERS) lines.push(`#include <xen/${h}>`);
  lines.push("int main(void) {");
  for (const [table, spec] of Object.entries(C_NAMES)) {
    if (layout[table].size < 0) continue;
    lines.push(`printf("${table} size %zu\\n", sizeof(${spec.c}));`);
    for (const [field, des] of Object.entries(spec.fields)) {
      if (layout[table][field] < 0) continue;
      lines.push(`printf("${table} ${field} %zu\\n", offsetof(${spec.c}, ${des}));`);
    }
  }
  lines.push("return 0; }");
  const dir = Deno.makeTempDirSync({ prefix: "pvx-layout-" });
  try {
    Deno.writeTextFileSync(`${dir}/l.c`, lines.join("\n"));
    const cc = new Deno.Command("gcc", {
      args: [
        `-m${width}`,
        "-D__XEN_INTERFACE_VERSION__=0x00040e00",
        "-o",
        `${dir}/l`,
        `${dir}/l.c`,
      ],
    }).outputSync();
    assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
    const out = new TextDecoder().decode(new Deno.Command(`${dir}/l`).outputSync().stdout);
    const m = new Map<string, number>();
    for (const l of out.trim().split("\n")) {
      const [t, f, v] = l.split(" ");
      m.set(`${t}.${f}`, Number(v));
    }
    return m;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

for (const width of [32, 64] as const) {
  Deno.test({
    name: `guest layouts (x86_${width}) equal gcc -m${width} on Xen's headers` +
      (have ? "" : " (ignored: gcc or libxen-dev headers missing)"),
    ignore: !have,
    fn() {
      const ref = compilerLayout(width);
      const layout = guestLayout(width) as unknown as Record<string, Layout<string>>;
      let checked = 0;
      for (const [table, spec] of Object.entries(C_NAMES)) {
        for (const field of ["size", ...Object.keys(spec.fields)]) {
          const mine = layout[table][field];
          assert.equal(typeof mine, "number", `${table}.${field} missing`);
          if (mine < 0) continue;
          assert.equal(mine, ref.get(`${table}.${field}`), `x86_${width} ${table}.${field}`);
          checked++;
        }
      }
      assert.ok(checked > 150, `only ${checked} fields checked`);
    },
  });
}

Deno.test("guest layouts: the width picks the table; 64-bit-only structures are absent at 32", () => {
  assert.equal(guestLayout(32), LAYOUT_X86_32);
  assert.equal(guestLayout(64), LAYOUT_X86_64);
  assert.equal(LAYOUT_X86_64.startInfoMagic, "xen-3.0-x86_64");
  assert.equal(LAYOUT_X86_32.startInfoMagic, "xen-3.0-x86_32p");
  assert.equal(LAYOUT_X86_32.iretContext.size, -1);
  assert.equal(LAYOUT_X86_64.vcpuGuestContext.eventCallbackCs, -1);
  assert.equal(LAYOUT_X86_64.nrEvtchn2l, LAYOUT_X86_64.wordSize * 8 * LAYOUT_X86_64.wordSize * 8);
  assert.equal(LAYOUT_X86_32.nrEvtchn2l, LAYOUT_X86_32.wordSize * 8 * LAYOUT_X86_32.wordSize * 8);
});
