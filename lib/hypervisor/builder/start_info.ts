/**
 * Writes a pv32pae start_info page as xc_dom's start_info_x86_32 fills it.
 * @module
 */
import {
  MAX_GUEST_CMDLINE,
  SI_CMD_LINE,
  SI_CONSOLE_EVTCHN,
  SI_CONSOLE_MFN,
  SI_FIRST_P2M_PFN,
  SI_FLAGS,
  SI_MAGIC,
  SI_MFN_LIST,
  SI_MOD_LEN,
  SI_MOD_START,
  SI_NR_P2M_FRAMES,
  SI_NR_PAGES,
  SI_NR_PT_FRAMES,
  SI_PT_BASE,
  SI_SHARED_INFO,
  SI_STORE_EVTCHN,
  SI_STORE_MFN,
  START_INFO_MAGIC,
} from "../../abi/mod.ts";

/** The values of start_info (x86_32). */
export interface StartInfo {
  nrPages: number;
  /** Machine address of shared_info. */
  sharedInfoMaddr: number;
  flags: number;
  storeMfn: number;
  storeEvtchn: number;
  consoleMfn: number;
  consoleEvtchn: number;
  ptBase: number;
  nrPtFrames: number;
  mfnList: number;
  modStart: number;
  modLen: number;
  cmdline: string;
  firstP2mPfn?: number;
  nrP2mFrames?: number;
}

/**
 * Writes start_info into a page.
 * @param page the 4096-byte page (zeroed by the caller)
 * @param si the values
 */
export function writeStartInfo(page: Uint8Array, si: StartInfo): void {
  const dv = new DataView(page.buffer, page.byteOffset, 4096);
  const magic = new TextEncoder().encode(START_INFO_MAGIC);
  page.set(magic, SI_MAGIC);
  dv.setUint32(SI_NR_PAGES, si.nrPages >>> 0, true);
  dv.setUint32(SI_SHARED_INFO, si.sharedInfoMaddr >>> 0, true);
  dv.setUint32(SI_FLAGS, si.flags >>> 0, true);
  dv.setUint32(SI_STORE_MFN, si.storeMfn >>> 0, true);
  dv.setUint32(SI_STORE_EVTCHN, si.storeEvtchn >>> 0, true);
  dv.setUint32(SI_CONSOLE_MFN, si.consoleMfn >>> 0, true);
  dv.setUint32(SI_CONSOLE_EVTCHN, si.consoleEvtchn >>> 0, true);
  dv.setUint32(SI_PT_BASE, si.ptBase >>> 0, true);
  dv.setUint32(SI_NR_PT_FRAMES, si.nrPtFrames >>> 0, true);
  dv.setUint32(SI_MFN_LIST, si.mfnList >>> 0, true);
  dv.setUint32(SI_MOD_START, si.modStart >>> 0, true);
  dv.setUint32(SI_MOD_LEN, si.modLen >>> 0, true);
  // strncpy + forced terminator, as the builder does.
  const cmd = new TextEncoder().encode(si.cmdline).subarray(0, MAX_GUEST_CMDLINE - 1);
  page.set(cmd, SI_CMD_LINE);
  page[SI_CMD_LINE + cmd.length] = 0;
  dv.setUint32(SI_FIRST_P2M_PFN, (si.firstP2mPfn ?? 0) >>> 0, true);
  dv.setUint32(SI_NR_P2M_FRAMES, (si.nrP2mFrames ?? 0) >>> 0, true);
}

/**
 * Reads start_info back (for tests and `pvx boot --debug`).
 * @param page the page
 */
export function readStartInfo(page: Uint8Array): StartInfo & { magic: string } {
  const dv = new DataView(page.buffer, page.byteOffset, 4096);
  const str = (off: number, max: number) => {
    let end = off;
    while (end < off + max && page[end] !== 0) end++;
    return new TextDecoder().decode(page.subarray(off, end));
  };
  const u = (o: number) => dv.getUint32(o, true);
  return {
    magic: str(SI_MAGIC, 32),
    nrPages: u(SI_NR_PAGES),
    sharedInfoMaddr: u(SI_SHARED_INFO),
    flags: u(SI_FLAGS),
    storeMfn: u(SI_STORE_MFN),
    storeEvtchn: u(SI_STORE_EVTCHN),
    consoleMfn: u(SI_CONSOLE_MFN),
    consoleEvtchn: u(SI_CONSOLE_EVTCHN),
    ptBase: u(SI_PT_BASE),
    nrPtFrames: u(SI_NR_PT_FRAMES),
    mfnList: u(SI_MFN_LIST),
    modStart: u(SI_MOD_START),
    modLen: u(SI_MOD_LEN),
    cmdline: str(SI_CMD_LINE, MAX_GUEST_CMDLINE),
    firstP2mPfn: u(SI_FIRST_P2M_PFN),
    nrP2mFrames: u(SI_NR_P2M_FRAMES),
  };
}
