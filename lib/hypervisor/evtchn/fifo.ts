/**
 * The FIFO event-channel ABI (public/event_channel.h, xen/common/event_fifo.c): per-port
 * 32-bit event words in guest pages added with EVTCHNOP_expand_array, per-vcpu control
 * blocks (ready bitmap, one queue head per priority) mapped with EVTCHNOP_init_control,
 * and the linking protocol by which Xen appends a pending, unmasked, unlinked event to
 * the tail of its vcpu's queue for its priority.
 *
 * Words and control blocks have the same layout for 32- and 64-bit guests, so nothing
 * here depends on the guest's word size.
 * @module
 */
import type { PhysMemory } from "../../cpu/mod.ts";
import { PAGE_SIZE } from "../../abi/mod.ts";
import { EINVAL, ENOENT, ENOSPC } from "../../abi/mod.ts";
import {
  markEventsPending,
  SET_ALREADY_PENDING,
  SET_PENDING,
  SET_PENDING_KICK,
} from "./ports_2l.ts";
import type { SharedInfoView } from "./shared_info_view.ts";
import {
  EVTCHN_FIFO_CONTROL_BLOCK_SIZE,
  EVTCHN_FIFO_EVENT_WORDS_PER_PAGE,
  EVTCHN_FIFO_LINK_MASK,
  EVTCHN_FIFO_LINKED,
  EVTCHN_FIFO_MASKED,
  EVTCHN_FIFO_MAX_EVENT_ARRAY_PAGES,
  EVTCHN_FIFO_MAX_QUEUES,
  EVTCHN_FIFO_PENDING,
  EVTCHN_FIFO_PRIORITY_DEFAULT,
  EVTCHN_FIFO_PRIORITY_MIN,
} from "../../abi/mod.ts";

/**
 * Guest pages for the FIFO structures: map_guest_page takes a reference and the writable
 * type (so the page can never become a page table while Xen writes into it).
 */
export interface FifoPages {
  /** @returns the machine address of the page of `gfn`, or -1 (-EINVAL to the guest) */
  map(gfn: number): number;
  /** Drops what {@link map} took. */
  unmap(maddr: number): void;
}

/**
 * One domain's FIFO state (d->evtchn_fifo plus each vcpu's v->evtchn_fifo). Created by the
 * first successful EVTCHNOP_init_control; the domain then uses these port operations
 * instead of the 2-level ones.
 */
export class FifoEvtchn {
  readonly #mem: PhysMemory;
  readonly #shared: SharedInfoView;
  readonly #pages: FifoPages;
  /** Per vcpu: machine address of its control block, or -1. */
  readonly #control: Float64Array;
  /** Per vcpu and priority: the port last linked on that queue (q->tail). */
  readonly #tail: Int32Array;
  /** Machine addresses of the event array pages. */
  readonly #array: number[] = [];
  /** Per port: priority, and whether it became pending while it had no event word. */
  readonly #priority: Uint8Array;
  readonly #savedPending: Uint8Array;

  /**
   * @param mem machine memory
   * @param shared the domain's vcpu_info words (evtchn_upcall_pending)
   * @param maxPorts the domain's port limit
   * @param pages maps guest frames
   */
  constructor(mem: PhysMemory, shared: SharedInfoView, maxPorts: number, pages: FifoPages) {
    this.#mem = mem;
    this.#shared = shared;
    this.#pages = pages;
    this.#control = new Float64Array(shared.maxVcpus).fill(-1);
    this.#tail = new Int32Array(shared.maxVcpus * EVTCHN_FIFO_MAX_QUEUES);
    this.#priority = new Uint8Array(maxPorts).fill(EVTCHN_FIFO_PRIORITY_DEFAULT);
    this.#savedPending = new Uint8Array(maxPorts);
  }

  /** Ports that have an event word (d->evtchn_fifo->num_evtchns). */
  get numEvtchns(): number {
    return this.#array.length * EVTCHN_FIFO_EVENT_WORDS_PER_PAGE;
  }

  /**
   * Checks EVTCHNOP_init_control's arguments (before any state changes).
   * @returns 0, -ENOENT (no such vcpu) or -EINVAL (offset crosses the page or is not
   *   8-byte aligned)
   */
  static checkInitControl(vcpus: number, vcpu: number, offset: number): number {
    if (!(vcpu >= 0 && vcpu < vcpus)) return -ENOENT;
    if (offset > PAGE_SIZE - EVTCHN_FIFO_CONTROL_BLOCK_SIZE) return -EINVAL;
    if ((offset & 7) !== 0) return -EINVAL;
    return 0;
  }

  /**
   * Maps `vcpu`'s control block (map_control_block).
   * @returns 0, or -EINVAL (already mapped, or the frame cannot be mapped)
   */
  mapControlBlock(vcpu: number, gfn: number, offset: number): number {
    if (this.#control[vcpu] >= 0) return -EINVAL;
    const page = this.#pages.map(gfn);
    if (page < 0) return -EINVAL;
    this.#control[vcpu] = page + offset;
    return 0;
  }

  /**
   * EVTCHNOP_expand_array: adds one page of event words; events that became pending
   * while their word was missing are raised now.
   * @param notifyVcpu the vcpu a bound port notifies, or -1 for a free port
   * @returns 0, -ENOSPC (all 128 pages present) or -EINVAL (bad frame), plus the kicks
   *   through `kick`
   */
  expandArray(
    gfn: number,
    notifyVcpu: (port: number) => number,
    kick: (v: number) => void,
  ): number {
    if (this.#array.length >= EVTCHN_FIFO_MAX_EVENT_ARRAY_PAGES) return -ENOSPC;
    const page = this.#pages.map(gfn);
    if (page < 0) return -EINVAL;
    const first = this.numEvtchns;
    this.#array.push(page);
    const end = Math.min(this.numEvtchns, this.#priority.length);
    for (let port = first; port < end; port++) {
      if (this.#savedPending[port] === 0) continue;
      this.#savedPending[port] = 0;
      const v = notifyVcpu(port);
      if (v >= 0 && this.setPending(v, port) === SET_PENDING_KICK) kick(v);
    }
    return 0;
  }

  /**
   * EVTCHNOP_set_priority for a valid port.
   * @returns 0 or -EINVAL (priority below EVTCHN_FIFO_PRIORITY_MIN)
   */
  setPriority(port: number, priority: number): number {
    if (!(priority >= 0 && priority <= EVTCHN_FIFO_PRIORITY_MIN)) return -EINVAL;
    this.#priority[port] = priority;
    return 0;
  }

  /** A port was freed or (re)allocated: default priority, nothing saved (evtchn_fifo_init). */
  initPort(port: number): void {
    this.#priority[port] = EVTCHN_FIFO_PRIORITY_DEFAULT;
    this.#savedPending[port] = 0;
  }

  /**
   * Takes over a port's 2-level pending state when the domain switches to FIFO
   * (setup_ports): it is raised once its event word exists.
   */
  adoptPending(port: number): void {
    this.#savedPending[port] = 1;
  }

  /**
   * evtchn_fifo_set_pending: sets PENDING; an unmasked, unlinked event is linked at the
   * tail of `vcpu`'s queue for its priority (or becomes the head of an empty queue, which
   * sets the queue's READY bit and, when that was clear, evtchn_upcall_pending).
   * @returns SET_ALREADY_PENDING, SET_PENDING or SET_PENDING_KICK (as the 2-level ABI)
   */
  setPending(vcpu: number, port: number): number {
    const w = this.#word(port);
    if (w < 0) {
      this.#savedPending[port] = 1;
      return SET_PENDING;
    }
    const dv = this.#mem.dv;
    let word = dv.getUint32(w, true);
    const was = (word >>> EVTCHN_FIFO_PENDING) & 1;
    word = (word | (1 << EVTCHN_FIFO_PENDING)) >>> 0;
    this.#put(w, word);
    const result = was !== 0 ? SET_ALREADY_PENDING : SET_PENDING;
    if ((word >>> EVTCHN_FIFO_MASKED) & 1 || (word >>> EVTCHN_FIFO_LINKED) & 1) return result;
    const cb = this.#control[vcpu];
    // No control block: the guest must not unmask before mapping one; the event is dropped.
    if (!(cb >= 0)) return result;
    this.#put(w, (word | (1 << EVTCHN_FIFO_LINKED)) >>> 0);
    const prio = this.#priority[port];
    const q = vcpu * EVTCHN_FIFO_MAX_QUEUES + prio;
    const tail = this.#tail[q];
    let linked = false;
    if (tail !== port) {
      const tw = this.#word(tail);
      if (tw >= 0) {
        const t = dv.getUint32(tw, true);
        // Only a tail still on the queue (LINKED) may take a link; else the queue is empty.
        if ((t >>> EVTCHN_FIFO_LINKED) & 1) {
          this.#put(tw, ((t & ~EVTCHN_FIFO_LINK_MASK) | port) >>> 0);
          linked = true;
        }
      }
    }
    if (!linked) this.#put(cb + 8 + prio * 4, port);
    this.#tail[q] = port;
    if (linked) return result;
    const ready = dv.getUint32(cb, true);
    if ((ready >>> prio) & 1) return result;
    this.#put(cb, (ready | (1 << prio)) >>> 0);
    return markEventsPending(this.#shared, vcpu) ? SET_PENDING_KICK : result;
  }

  /**
   * evtchn_fifo_unmask: clears MASKED and relinks a pending event.
   * @returns true when the vcpu needs an upcall
   */
  unmask(vcpu: number, port: number): boolean {
    const w = this.#word(port);
    if (w < 0) return false;
    const word = this.#mem.dv.getUint32(w, true) & ~(1 << EVTCHN_FIFO_MASKED);
    this.#put(w, word >>> 0);
    if (((word >>> EVTCHN_FIFO_PENDING) & 1) === 0) return false;
    return this.setPending(vcpu, port) === SET_PENDING_KICK;
  }

  /** evtchn_fifo_clear_pending: clears PENDING only (the event may still be linked). */
  clearPending(port: number): void {
    this.#savedPending[port] = 0;
    const w = this.#word(port);
    if (w >= 0) this.#put(w, (this.#mem.dv.getUint32(w, true) & ~(1 << EVTCHN_FIFO_PENDING)) >>> 0);
  }

  /** Whether the port's word has PENDING (a port without a word: its saved state). */
  isPending(port: number): boolean {
    const w = this.#word(port);
    if (w < 0) return this.#savedPending[port] !== 0;
    return ((this.#mem.dv.getUint32(w, true) >>> EVTCHN_FIFO_PENDING) & 1) !== 0;
  }

  /** Whether the port's word has MASKED (a port without a word counts as masked). */
  isMasked(port: number): boolean {
    const w = this.#word(port);
    return w < 0 || ((this.#mem.dv.getUint32(w, true) >>> EVTCHN_FIFO_MASKED) & 1) !== 0;
  }

  /** evtchn_fifo_destroy: drops every mapped page. */
  destroy(): void {
    for (const p of this.#array) this.#pages.unmap(p);
    this.#array.length = 0;
    for (let v = 0; v < this.#control.length; v++) {
      const cb = this.#control[v];
      if (cb >= 0) this.#pages.unmap(cb - (cb % PAGE_SIZE));
      this.#control[v] = -1;
    }
  }

  /** Machine address of a port's event word, or -1 when its page is not there. */
  #word(port: number): number {
    if (!(port >= 0 && port < this.numEvtchns)) return -1;
    const page = this.#array[Math.floor(port / EVTCHN_FIFO_EVENT_WORDS_PER_PAGE)];
    return page + (port % EVTCHN_FIFO_EVENT_WORDS_PER_PAGE) * 4;
  }

  /** Writes a u32 of guest memory (noted for decoded-code coherence). */
  #put(maddr: number, v: number): void {
    this.#mem.dv.setUint32(maddr, v >>> 0, true);
    this.#mem.noteWrite(maddr, 4);
  }
}
