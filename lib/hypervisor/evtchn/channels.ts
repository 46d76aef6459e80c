/**
 * A domain's event-channel table: port states, interdomain/VIRQ/IPI bindings and the
 * EVTCHNOP_* rules with Xen's error codes; mirrors xen/common/event_channel.c.
 * @module
 */
import {
  EBUSY,
  EEXIST,
  EINVAL,
  ENOENT,
  ENOSPC,
  ENOSYS,
  EOPNOTSUPP,
  EPERM,
  ESRCH,
} from "../../abi/mod.ts";
import { NULL_TRACER, type Tracer } from "../trace/tracer.ts";
import {
  DOMID_SELF,
  ECS_FREE,
  ECS_INTERDOMAIN,
  ECS_IPI,
  ECS_PIRQ,
  ECS_RESERVED,
  ECS_UNBOUND,
  ECS_VIRQ,
  EVTCHN_2L_NR_CHANNELS_32,
  EVTCHN_2L_NR_CHANNELS_64,
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_bind_ipi,
  EVTCHNOP_bind_pirq,
  EVTCHNOP_bind_vcpu,
  EVTCHNOP_bind_virq,
  EVTCHNOP_close,
  EVTCHNOP_expand_array,
  EVTCHNOP_init_control,
  EVTCHNOP_NAMES,
  EVTCHNOP_reset,
  EVTCHNOP_send,
  EVTCHNOP_set_priority,
  EVTCHNOP_status,
  EVTCHNOP_unmask,
  EVTCHNSTAT_closed,
  EVTCHNSTAT_interdomain,
  EVTCHNSTAT_ipi,
  EVTCHNSTAT_pirq,
  EVTCHNSTAT_unbound,
  EVTCHNSTAT_virq,
  NR_VIRQS,
  TRC_PVX_EVTCHN_FAIL,
  TRC_PVX_EVTCHN_SEND,
  TRC_PVX_EVTCHN_UPCALL,
  VIRQ_DEBUG,
  VIRQ_TIMER,
  VIRQ_XENOPROF,
  VIRQ_XENPMU,
} from "../../abi/mod.ts";
import {
  evtchn2lClearPending,
  evtchn2lSetPending,
  evtchn2lUnmask,
  SET_ALREADY_PENDING,
  SET_PENDING_KICK,
} from "./ports_2l.ts";
import type { SharedInfoView } from "./shared_info_view.ts";
import { FifoEvtchn, type FifoPages } from "./fifo.ts";

/** What an event-channel table needs from its domain (the hypervisor core implements it). */
export interface EvtchnDomainHooks {
  /**
   * A vcpu's evtchn_upcall_pending went from 0 to 1: deliver the event callback at the
   * next instruction boundary when its upcall mask is clear, and wake it if blocked.
   */
  kick(vcpu: number): void;
  /** A port of this domain became pending (wakes SCHEDOP_poll waiters). Optional. */
  pollWake?(port: number): void;
}

/** Finds other domains' tables (interdomain binding and privileged queries). */
export interface EvtchnDirectory {
  /** The event-channel table of `domid`, or undefined when no such domain exists. */
  evtchn(domid: number): EventChannels | undefined;
}

/** Construction options of {@link EventChannels}. */
export interface EventChannelsOptions {
  /** This domain's id. */
  domid: number;
  /** shared_info / vcpu_info event words (its maxVcpus is the domain's vcpu count). */
  shared: SharedInfoView;
  /** Upcall requests go here. */
  hooks: EvtchnDomainHooks;
  /** Other domains. */
  directory: EvtchnDirectory;
  /** A control domain (dom0) may name other domains; a domU may not (-EPERM). */
  privileged?: boolean;
  /**
   * Port limit (default and maximum: the 2-level limit, 1024 for 32-bit guests, 4096 for
   * 64-bit ones).
   */
  maxPorts?: number;
  /** Trace sink. */
  tracer?: Tracer;
  /** Debug lines for rejected operations (gdprintk); none by default. */
  debug?: (msg: string) => void;
  /** Maps guest frames for the FIFO ABI; without it init_control answers -ENOSYS. */
  fifoPages?: FifoPages;
}

/** EVTCHNOP_status's answer. */
export interface EvtchnStatusInfo {
  /** EVTCHNSTAT_*. */
  status: number;
  /** The vcpu the channel notifies. */
  vcpu: number;
  /** unbound: the domain allowed to bind; interdomain: the remote domain. */
  dom: number;
  /** interdomain: the remote port. */
  port: number;
  /** virq: the VIRQ number. */
  virq: number;
}

/** Whether a VIRQ is global (bound on vcpu 0, re-bindable) rather than per-vcpu. */
export function virqIsGlobal(virq: number): boolean {
  return !(virq === VIRQ_TIMER || virq === VIRQ_DEBUG || virq === VIRQ_XENOPROF ||
    virq === VIRQ_XENPMU);
}

/**
 * One domain's event channels (2-level ABI). Methods are the EVTCHNOP_* operations as
 * issued by this domain; each returns >= 0 (a port or 0) or a negative Xen errno, and
 * checks everything before changing anything.
 */
export class EventChannels {
  /** This domain's id. */
  readonly domid: number;
  /** The shared_info view events are delivered through. */
  readonly shared: SharedInfoView;
  /** Number of ports (valid ports are 0 .. maxPorts-1; port 0 is reserved). */
  readonly maxPorts: number;
  /** Number of vcpus. */
  readonly vcpus: number;
  /** Whether this domain may operate on others (dom0). */
  readonly privileged: boolean;
  /** Trace sink (the core may replace it). */
  tracer: Tracer;
  /** Debug sink for rejected operations (the core may replace it). */
  debug: ((msg: string) => void) | null;
  readonly #hooks: EvtchnDomainHooks;
  readonly #dir: EvtchnDirectory;
  /** ECS_* per port. */
  readonly #state: Uint8Array;
  /** notify_vcpu_id per port. */
  readonly #notify: Uint16Array;
  /** unbound: remote_domid; interdomain: remote domain id. */
  readonly #rdom: Uint16Array;
  /** interdomain: remote port. */
  readonly #rport: Uint16Array;
  /** virq: the VIRQ. */
  readonly #virq: Uint8Array;
  /** vcpu * NR_VIRQS + virq -> port (0 = unbound), Xen's v->virq_to_evtchn. */
  readonly #virqToPort: Uint16Array;
  readonly #fifoPages: FifoPages | null;
  /** The FIFO ABI's state once init_control succeeded (null: 2-level). */
  #fifo: FifoEvtchn | null = null;

  /** @param o see {@link EventChannelsOptions} */
  constructor(o: EventChannelsOptions) {
    // EVTCHN_2L_NR_CHANNELS: a bit per bit of the selector's words (1024, or 4096 for 64)
    const limit = o.shared.width === 64 ? EVTCHN_2L_NR_CHANNELS_64 : EVTCHN_2L_NR_CHANNELS_32;
    const max = o.maxPorts ?? limit;
    if (!Number.isInteger(max) || max < 2 || max > limit) {
      throw new RangeError(`Cannot create event channels: bad port limit ${max}`);
    }
    this.domid = o.domid;
    this.shared = o.shared;
    this.maxPorts = max;
    this.vcpus = o.shared.maxVcpus;
    this.privileged = o.privileged ?? false;
    this.tracer = o.tracer ?? NULL_TRACER;
    this.debug = o.debug ?? null;
    this.#hooks = o.hooks;
    this.#dir = o.directory;
    this.#state = new Uint8Array(max);
    this.#notify = new Uint16Array(max);
    this.#rdom = new Uint16Array(max);
    this.#rport = new Uint16Array(max);
    this.#virq = new Uint8Array(max);
    this.#virqToPort = new Uint16Array(this.vcpus * NR_VIRQS);
    this.#fifoPages = o.fifoPages ?? null;
    this.#state[0] = ECS_RESERVED;
  }

  // ---- queries (for the core, tests and the device host) ----

  /** The ECS_* state of a port (ECS_FREE for out-of-range ports). */
  state(port: number): number {
    return this.#valid(port) ? this.#state[port] : ECS_FREE;
  }
  /** The vcpu a port notifies. */
  notifyVcpu(port: number): number {
    return this.#valid(port) ? this.#notify[port] : 0;
  }
  /** unbound: the domain allowed to bind; interdomain: the remote domain. */
  remoteDom(port: number): number {
    return this.#valid(port) ? this.#rdom[port] : 0;
  }
  /** interdomain: the remote port. */
  remotePort(port: number): number {
    return this.#valid(port) ? this.#rport[port] : 0;
  }
  /** virq: the VIRQ bound to the port. */
  virqOf(port: number): number {
    return this.#valid(port) ? this.#virq[port] : 0;
  }
  /** The port bound to (vcpu, virq), or 0. */
  virqPort(vcpu: number, virq: number): number {
    if (!(vcpu >= 0 && vcpu < this.vcpus && virq >= 0 && virq < NR_VIRQS)) return 0;
    return this.#virqToPort[vcpu * NR_VIRQS + virq];
  }

  // ---- EVTCHNOP_* ----

  /**
   * EVTCHNOP_alloc_unbound: a fresh port in `dom` that `remoteDom` may bind to.
   * @returns the port, or -ESRCH (no such domain), -EPERM (a domU naming another
   *   domain), -ENOSPC (no free port)
   */
  allocUnbound(dom: number, remoteDom: number): number {
    const d = this.#domain(dom);
    if (typeof d === "number") return this.#fail(EVTCHNOP_alloc_unbound, dom, d);
    const port = d.#freePort();
    if (port < 0) return this.#fail(EVTCHNOP_alloc_unbound, dom, port);
    d.#state[port] = ECS_UNBOUND;
    d.#notify[port] = 0;
    d.#rdom[port] = remoteDom === DOMID_SELF ? this.domid : remoteDom;
    return port;
  }

  /**
   * EVTCHNOP_bind_interdomain: connects a fresh local port (or `localPort` when non-zero,
   * as Xen's static binding does) to `remoteDom`'s unbound port `remotePort`, which
   * must accept this domain. The local port is set pending at once: the remote end may
   * have signalled before the binding existed (evtchn_bind_interdomain's conservative
   * notification).
   * @returns the local port, or -ESRCH, -ENOSPC, -EBUSY (localPort in use), -EINVAL
   *   (remote port out of range, not unbound, or not offered to this domain)
   */
  bindInterdomain(remoteDom: number, remotePort: number, localPort = 0): number {
    const rdom = remoteDom === DOMID_SELF ? this.domid : remoteDom;
    const rd = rdom === this.domid ? this : this.#dir.evtchn(rdom);
    if (!rd) return this.#fail(EVTCHNOP_bind_interdomain, remoteDom, -ESRCH);
    const lport = localPort !== 0 ? this.#allocPort(localPort) : this.#freePort();
    if (lport < 0) return this.#fail(EVTCHNOP_bind_interdomain, localPort, lport);
    if (
      !rd.#valid(remotePort) || rd.#state[remotePort] !== ECS_UNBOUND ||
      rd.#rdom[remotePort] !== this.domid
    ) {
      return this.#fail(EVTCHNOP_bind_interdomain, remotePort, -EINVAL);
    }
    this.#state[lport] = ECS_INTERDOMAIN;
    this.#notify[lport] = 0;
    this.#rdom[lport] = rd.domid;
    this.#rport[lport] = remotePort;
    rd.#state[remotePort] = ECS_INTERDOMAIN;
    rd.#rdom[remotePort] = this.domid;
    rd.#rport[remotePort] = lport;
    this.#setPending(this.#notify[lport], lport);
    return lport;
  }

  /**
   * EVTCHNOP_bind_virq: binds `virq` on `vcpu` to a fresh port. Global VIRQs bind on
   * vcpu 0 only; each (vcpu, virq) binds at most once.
   * @returns the port, or -EINVAL (bad virq, global virq on vcpu != 0), -ENOENT (no such
   *   vcpu), -EEXIST (already bound), -ENOSPC
   */
  bindVirq(virq: number, vcpu: number, port = 0): number {
    if (!Number.isInteger(virq) || virq < 0 || virq >= NR_VIRQS) {
      return this.#fail(EVTCHNOP_bind_virq, virq, -EINVAL);
    }
    if (virqIsGlobal(virq) && vcpu !== 0) return this.#fail(EVTCHNOP_bind_virq, virq, -EINVAL);
    if (!this.#vcpuOk(vcpu)) return this.#fail(EVTCHNOP_bind_virq, vcpu, -ENOENT);
    if (this.#virqToPort[vcpu * NR_VIRQS + virq] !== 0) {
      return this.#fail(EVTCHNOP_bind_virq, virq, -EEXIST);
    }
    const p = port !== 0 ? this.#allocPort(port) : this.#freePort();
    if (p < 0) return this.#fail(EVTCHNOP_bind_virq, virq, p);
    this.#state[p] = ECS_VIRQ;
    this.#notify[p] = vcpu;
    this.#virq[p] = virq;
    this.#virqToPort[vcpu * NR_VIRQS + virq] = p;
    return p;
  }

  /**
   * EVTCHNOP_bind_ipi: a fresh port that notifies `vcpu` of this domain.
   * @returns the port, or -ENOENT (no such vcpu), -ENOSPC
   */
  bindIpi(vcpu: number): number {
    if (!this.#vcpuOk(vcpu)) return this.#fail(EVTCHNOP_bind_ipi, vcpu, -ENOENT);
    const p = this.#freePort();
    if (p < 0) return this.#fail(EVTCHNOP_bind_ipi, vcpu, p);
    this.#state[p] = ECS_IPI;
    this.#notify[p] = vcpu;
    return p;
  }

  /**
   * EVTCHNOP_bind_pirq: pvx domains own no physical IRQs (pirq_access_permitted fails).
   * @returns -EPERM
   */
  bindPirq(pirq: number): number {
    return this.#fail(EVTCHNOP_bind_pirq, pirq, -EPERM);
  }

  /**
   * EVTCHNOP_close: frees `port`; an interdomain peer returns to unbound (offered to this
   * domain again); a VIRQ binding is dropped; the pending bit is cleared (the mask bit
   * is kept, as Xen keeps it).
   * @returns 0, or -EINVAL (out of range, free or reserved)
   */
  close(port: number): number {
    if (!this.#valid(port)) return this.#fail(EVTCHNOP_close, port, -EINVAL);
    const st = this.#state[port];
    if (st === ECS_FREE || st === ECS_RESERVED) return this.#fail(EVTCHNOP_close, port, -EINVAL);
    if (st === ECS_VIRQ) {
      const virq = this.#virq[port];
      for (let v = 0; v < this.vcpus; v++) {
        if (this.#virqToPort[v * NR_VIRQS + virq] === port) {
          this.#virqToPort[v * NR_VIRQS + virq] = 0;
        }
      }
    } else if (st === ECS_INTERDOMAIN) {
      const rd = this.#rdom[port] === this.domid ? this : this.#dir.evtchn(this.#rdom[port]);
      const rp = this.#rport[port];
      if (rd && rd.#state[rp] === ECS_INTERDOMAIN && rd.#rdom[rp] === this.domid) {
        rd.#state[rp] = ECS_UNBOUND;
        rd.#rport[rp] = 0;
      }
    }
    if (this.#fifo) this.#fifo.clearPending(port);
    else evtchn2lClearPending(this.shared, port);
    this.#free(port);
    return 0;
  }

  /**
   * EVTCHNOP_send: interdomain -> the remote port becomes pending on its notify vcpu;
   * IPI -> the local port; unbound -> silently dropped.
   * @returns 0, or -EINVAL (out of range, free, VIRQ, PIRQ)
   */
  send(port: number): number {
    if (!this.#valid(port)) return this.#fail(EVTCHNOP_send, port, -EINVAL);
    switch (this.#state[port]) {
      case ECS_INTERDOMAIN: {
        const rp = this.#rport[port];
        const rd = this.#rdom[port] === this.domid ? this : this.#dir.evtchn(this.#rdom[port]);
        if (this.tracer.on) {
          this.tracer.rec(TRC_PVX_EVTCHN_SEND, 4, this.domid, port, this.#rdom[port], rp, 0, 0);
        }
        if (rd) rd.#setPending(rd.#notify[rp], rp);
        return 0;
      }
      case ECS_IPI:
        if (this.tracer.on) {
          this.tracer.rec(TRC_PVX_EVTCHN_SEND, 4, this.domid, port, this.domid, port, 0, 0);
        }
        this.#setPending(this.#notify[port], port);
        return 0;
      case ECS_UNBOUND:
        return 0;
      default:
        return this.#fail(EVTCHNOP_send, port, -EINVAL);
    }
  }

  /**
   * EVTCHNOP_status of `port` in `dom`.
   * @returns the status, or -ESRCH, -EPERM (a domU naming another domain), -EINVAL
   */
  status(dom: number, port: number): EvtchnStatusInfo | number {
    const d = this.#domain(dom);
    if (typeof d === "number") return this.#fail(EVTCHNOP_status, dom, d);
    if (!d.#valid(port)) return this.#fail(EVTCHNOP_status, port, -EINVAL);
    const out: EvtchnStatusInfo = {
      status: EVTCHNSTAT_closed,
      vcpu: d.#notify[port],
      dom: 0,
      port: 0,
      virq: 0,
    };
    switch (d.#state[port]) {
      case ECS_UNBOUND:
        out.status = EVTCHNSTAT_unbound;
        out.dom = d.#rdom[port];
        break;
      case ECS_INTERDOMAIN:
        out.status = EVTCHNSTAT_interdomain;
        out.dom = d.#rdom[port];
        out.port = d.#rport[port];
        break;
      case ECS_PIRQ:
        out.status = EVTCHNSTAT_pirq;
        break;
      case ECS_VIRQ:
        out.status = EVTCHNSTAT_virq;
        out.virq = d.#virq[port];
        break;
      case ECS_IPI:
        out.status = EVTCHNSTAT_ipi;
        break;
    }
    return out;
  }

  /**
   * EVTCHNOP_bind_vcpu: unbound, interdomain and global-VIRQ ports may change the vcpu
   * they notify; IPI and per-vcpu VIRQ ports may not.
   * @returns 0, or -ENOENT (no such vcpu), -EINVAL (bad port or state)
   */
  bindVcpu(port: number, vcpu: number): number {
    if (!this.#vcpuOk(vcpu)) return this.#fail(EVTCHNOP_bind_vcpu, vcpu, -ENOENT);
    if (!this.#valid(port)) return this.#fail(EVTCHNOP_bind_vcpu, port, -EINVAL);
    switch (this.#state[port]) {
      case ECS_VIRQ:
        if (!virqIsGlobal(this.#virq[port])) return this.#fail(EVTCHNOP_bind_vcpu, port, -EINVAL);
        this.#notify[port] = vcpu;
        return 0;
      case ECS_UNBOUND:
      case ECS_INTERDOMAIN:
        this.#notify[port] = vcpu;
        return 0;
      default:
        return this.#fail(EVTCHNOP_bind_vcpu, port, -EINVAL);
    }
  }

  /**
   * EVTCHNOP_unmask: clears the mask bit and re-raises a pending event on the port's
   * notify vcpu.
   * @returns 0, or -EINVAL (out of range)
   */
  unmask(port: number): number {
    if (!this.#valid(port)) return this.#fail(EVTCHNOP_unmask, port, -EINVAL);
    const v = this.#notify[port];
    const kick = this.#fifo ? this.#fifo.unmask(v, port) : evtchn2lUnmask(this.shared, v, port);
    if (kick) this.#kick(v, port);
    return 0;
  }

  /**
   * EVTCHNOP_reset: closes every port of `dom` (this domain; another domain would have
   * to be paused by its controller, which pvx does not model: -EINVAL).
   * @returns 0, or -ESRCH, -EPERM, -EINVAL
   */
  reset(dom: number): number {
    const d = this.#domain(dom);
    if (typeof d === "number") return this.#fail(EVTCHNOP_reset, dom, d);
    if (d !== this) return this.#fail(EVTCHNOP_reset, dom, -EINVAL);
    this.closeAll();
    return 0;
  }

  /** Whether the FIFO ABI is in use (after a successful init_control). */
  get fifo(): boolean {
    return this.#fifo !== null;
  }

  /** Whether `port` is pending, in whichever ABI the domain uses. */
  isPending(port: number): boolean {
    if (!this.#valid(port)) return false;
    return this.#fifo ? this.#fifo.isPending(port) : this.shared.isPending(port);
  }

  /**
   * EVTCHNOP_init_control (evtchn_fifo_init_control): maps `vcpu`'s control block; the
   * first success switches the domain to the FIFO ABI, carrying 2-level pending bits.
   * @returns 0, or -ENOENT (no such vcpu), -EINVAL (bad offset, bad frame, mapped twice),
   *   -ENOSYS (no page mapper: the FIFO ABI is not offered)
   */
  initControl(gfn: number, offset: number, vcpu: number): number {
    if (!this.#fifoPages) return -ENOSYS;
    const bad = FifoEvtchn.checkInitControl(this.vcpus, vcpu, offset);
    if (bad < 0) return this.#fail(EVTCHNOP_init_control, vcpu, bad);
    if (this.#fifo) return this.#fifo.mapControlBlock(vcpu, gfn, offset);
    const f = new FifoEvtchn(this.shared.mem, this.shared, this.maxPorts, this.#fifoPages);
    const rc = f.mapControlBlock(vcpu, gfn, offset);
    if (rc < 0) return this.#fail(EVTCHNOP_init_control, vcpu, rc);
    for (let p = 1; p < this.maxPorts; p++) if (this.shared.isPending(p)) f.adoptPending(p);
    this.#fifo = f;
    return 0;
  }

  /**
   * EVTCHNOP_expand_array: one more page of FIFO event words.
   * @returns 0, or -EOPNOTSUPP (2-level), -EINVAL (bad frame), -ENOSPC
   */
  expandArray(gfn: number): number {
    if (!this.#fifo) return this.#fail(EVTCHNOP_expand_array, gfn, -EOPNOTSUPP);
    const notify = (p: number) => (this.#state[p] === ECS_FREE ? -1 : this.#notify[p]);
    return this.#fifo.expandArray(gfn, notify, (v) => this.#kick(v, 0));
  }

  /**
   * EVTCHNOP_set_priority.
   * @returns 0, or -EINVAL (bad port or priority), -ENOSYS (2-level)
   */
  setPriority(port: number, priority: number): number {
    if (!this.#valid(port)) return this.#fail(EVTCHNOP_set_priority, port, -EINVAL);
    if (!this.#fifo) return -ENOSYS;
    return this.#fifo.setPriority(port, priority);
  }

  // ---- hypervisor-side senders ----

  /** send_guest_vcpu_virq: raises a per-vcpu VIRQ (VIRQ_TIMER, VIRQ_DEBUG) if bound. */
  sendVirq(vcpu: number, virq: number): void {
    const p = this.virqPort(vcpu, virq);
    if (p !== 0) this.#setPending(vcpu, p);
  }

  /** send_guest_global_virq: raises a global VIRQ bound on vcpu 0 on its notify vcpu. */
  sendGlobalVirq(virq: number): void {
    const p = this.virqPort(0, virq);
    if (p !== 0) this.#setPending(this.#notify[p], p);
  }

  /** Closes every port and leaves the FIFO ABI (domain destruction, EVTCHNOP_reset). */
  closeAll(): void {
    for (let p = 1; p < this.maxPorts; p++) {
      if (this.#state[p] !== ECS_FREE) this.close(p);
    }
    this.#fifo?.destroy();
    this.#fifo = null;
  }

  // ---- internals ----

  #valid(port: number): boolean {
    return Number.isInteger(port) && port >= 0 && port < this.maxPorts;
  }

  #vcpuOk(vcpu: number): boolean {
    return Number.isInteger(vcpu) && vcpu >= 0 && vcpu < this.vcpus;
  }

  /** rcu_lock_domain_by_any_id + the XSM_TARGET check. */
  #domain(dom: number): EventChannels | number {
    if (dom === DOMID_SELF || dom === this.domid) return this;
    const d = this.#dir.evtchn(dom);
    if (!d) return -ESRCH;
    if (!this.privileged) return -EPERM;
    return d;
  }

  /** get_free_port: the lowest free port. */
  #freePort(): number {
    for (let p = 1; p < this.maxPorts; p++) if (this.#state[p] === ECS_FREE) return p;
    return -ENOSPC;
  }

  /** evtchn_allocate_port for a caller-chosen port. */
  #allocPort(port: number): number {
    if (!this.#valid(port)) return -ENOSPC;
    return this.#state[port] === ECS_FREE ? port : -EBUSY;
  }

  #free(port: number): void {
    this.#state[port] = ECS_FREE;
    this.#notify[port] = 0;
    this.#rdom[port] = 0;
    this.#rport[port] = 0;
    this.#virq[port] = 0;
    this.#fifo?.initPort(port);
  }

  #setPending(vcpu: number, port: number): void {
    const r = this.#fifo
      ? this.#fifo.setPending(vcpu, port)
      : evtchn2lSetPending(this.shared, vcpu, port);
    if (r === SET_ALREADY_PENDING) return;
    if (r === SET_PENDING_KICK) this.#kick(vcpu, port);
    // evtchn_check_pollers: a vcpu in SCHEDOP_poll on this port wakes even when masked.
    this.#hooks.pollWake?.(port);
  }

  #kick(vcpu: number, port: number): void {
    if (this.tracer.on) this.tracer.rec(TRC_PVX_EVTCHN_UPCALL, 3, this.domid, vcpu, port, 0, 0, 0);
    this.#hooks.kick(vcpu);
  }

  #fail(op: number, arg: number, err: number): number {
    if (this.tracer.on) this.tracer.rec(TRC_PVX_EVTCHN_FAIL, 4, this.domid, op, arg, -err, 0, 0);
    this.debug?.(`d${this.domid} EVTCHNOP_${EVTCHNOP_NAMES[op] ?? op}(${arg}): error ${err}`);
    return err;
  }
}
