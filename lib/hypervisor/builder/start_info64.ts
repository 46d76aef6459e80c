/**
 * Writes and reads the start_info page of a 64-bit PV guest (x86_64 layout, magic
 * "xen-3.0-x86_64"), as start_info_x86_64 fills it.
 * @module
 */
import { LAYOUT_X86_64 } from "../../abi/mod.ts";
import { MAX_GUEST_CMDLINE } from "../../abi/mod.ts";

/** The values of a 64-bit start_info (addresses canonical, as bigint). */
export interface StartInfo64 {
  nrPages: number;
  /** Machine address of shared_info. */
  sharedInfoMaddr: number;
  flags: number;
  storeMfn: number;
  storeEvtchn: number;
  consoleMfn: number;
  consoleEvtchn: number;
  /** Virtual address of the initial page tables (the L4). */
  ptBase: bigint;
  nrPtFrames: number;
  /** Virtual address of the P2M list. */
  mfnList: bigint;
  /** The module's virtual address, or its pfn with SIF_MOD_START_PFN. */
  modStart: bigint;
  modLen: number;
  cmdline: string;
  firstP2mPfn: number;
  nrP2mFrames: number;
}

const L = LAYOUT_X86_64.startInfo;

/**
 * Writes start_info into a page.
 * @param page the 4096-byte page (zeroed by the caller)
 * @param si the values
 */
export function writeStartInfo64(page: Uint8Array, si: StartInfo64): void {
  const dv = new DataView(page.buffer, page.byteOffset, 4096);
  const magic = new TextEncoder().encode(LAYOUT_X86_64.startInfoMagic);
  page.set(magic, L.magic);
  const u64 = (off: number, v: number | bigint) =>
    dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true);
  u64(L.nrPages, si.nrPages);
  u64(L.sharedInfo, si.sharedInfoMaddr);
  dv.setUint32(L.flags, si.flags >>> 0, true);
  u64(L.storeMfn, si.storeMfn);
  dv.setUint32(L.storeEvtchn, si.storeEvtchn >>> 0, true);
  u64(L.consoleDomUMfn, si.consoleMfn);
  dv.setUint32(L.consoleDomUEvtchn, si.consoleEvtchn >>> 0, true);
  u64(L.ptBase, si.ptBase);
  u64(L.nrPtFrames, si.nrPtFrames);
  u64(L.mfnList, si.mfnList);
  u64(L.modStart, si.modStart);
  u64(L.modLen, si.modLen);
  const cmd = new TextEncoder().encode(si.cmdline).subarray(0, MAX_GUEST_CMDLINE - 1);
  page.set(cmd, L.cmdLine);
  page[L.cmdLine + cmd.length] = 0;
  u64(L.firstP2mPfn, si.firstP2mPfn);
  u64(L.nrP2mFrames, si.nrP2mFrames);
}

/**
 * Reads a 64-bit start_info back (tests, `pvx boot --debug`).
 * @param page the page
 */
export function readStartInfo64(page: Uint8Array): StartInfo64 & { magic: string } {
  const dv = new DataView(page.buffer, page.byteOffset, 4096);
  const str = (off: number, max: number) => {
    let end = off;
    while (end < off + max && page[end] !== 0) end++;
    return new TextDecoder().decode(page.subarray(off, end));
  };
  const n = (off: number) => Number(dv.getBigUint64(off, true));
  const b = (off: number) => dv.getBigUint64(off, true);
  return {
    magic: str(L.magic, 32),
    nrPages: n(L.nrPages),
    sharedInfoMaddr: n(L.sharedInfo),
    flags: dv.getUint32(L.flags, true),
    storeMfn: n(L.storeMfn),
    storeEvtchn: dv.getUint32(L.storeEvtchn, true),
    consoleMfn: n(L.consoleDomUMfn),
    consoleEvtchn: dv.getUint32(L.consoleDomUEvtchn, true),
    ptBase: b(L.ptBase),
    nrPtFrames: n(L.nrPtFrames),
    mfnList: b(L.mfnList),
    modStart: b(L.modStart),
    modLen: n(L.modLen),
    cmdline: str(L.cmdLine, MAX_GUEST_CMDLINE),
    firstP2mPfn: n(L.firstP2mPfn),
    nrP2mFrames: n(L.nrP2mFrames),
  };
}
