/**
 * event_channel_op and event_channel_op_compat: the copy-in/copy-out shell around the
 * evtchn/ model, one table row per command (struct size, the model call, whether the
 * struct goes back to the guest), as do_event_channel_op of xen/common/event_channel.c.
 * @module
 */
import { EFAULT, ENOSYS } from "../../abi/mod.ts";
import {
  EVTCHN_FIFO_LINK_BITS,
  EVTCHNOP_alloc_unbound,
  EVTCHNOP_bind_interdomain,
  EVTCHNOP_bind_ipi,
  EVTCHNOP_bind_pirq,
  EVTCHNOP_bind_vcpu,
  EVTCHNOP_bind_virq,
  EVTCHNOP_close,
  EVTCHNOP_expand_array,
  EVTCHNOP_init_control,
  EVTCHNOP_reset,
  EVTCHNOP_send,
  EVTCHNOP_set_priority,
  EVTCHNOP_status,
  EVTCHNOP_unmask,
} from "../../abi/mod.ts";
import type { EventChannels } from "../evtchn/channels.ts";
import type { Vcpu } from "../domain/vcpu.ts";

/** One command: struct size, the model call (may fill the struct), write-back. */
interface EvtchnCmd {
  size: number;
  out: boolean;
  run(ev: EventChannels, s: DataView, v: Vcpu): number;
}

/** A u64 frame number (above 2^53 it is no frame: -1). */
function gfn64(s: DataView, off: number): number {
  const hi = s.getUint32(off + 4, true);
  return hi >= 1 << 21 ? -1 : hi * 2 ** 32 + s.getUint32(off, true);
}

/** Stores a port result at `off` and answers 0, or passes an error through. */
function portOut(s: DataView, off: number, rc: number): number {
  if (rc < 0) return rc;
  s.setUint32(off, rc, true);
  return 0;
}

const CMDS = new Map<number, EvtchnCmd>([
  [EVTCHNOP_alloc_unbound, {
    size: 8, // dom u16, remote_dom u16, port u32
    out: true,
    run: (ev, s) => portOut(s, 4, ev.allocUnbound(s.getUint16(0, true), s.getUint16(2, true))),
  }],
  [EVTCHNOP_bind_interdomain, {
    size: 12, // remote_dom u16, pad, remote_port u32, local_port u32
    out: true,
    run: (ev, s) => portOut(s, 8, ev.bindInterdomain(s.getUint16(0, true), s.getUint32(4, true))),
  }],
  [EVTCHNOP_bind_virq, {
    size: 12, // virq, vcpu, port
    out: true,
    run: (ev, s) => portOut(s, 8, ev.bindVirq(s.getUint32(0, true), s.getUint32(4, true))),
  }],
  [EVTCHNOP_bind_pirq, {
    size: 12, // pirq, flags, port
    out: true,
    run: (ev, s) => portOut(s, 8, ev.bindPirq(s.getUint32(0, true))),
  }],
  [EVTCHNOP_bind_ipi, {
    size: 8, // vcpu, port
    out: true,
    run: (ev, s) => portOut(s, 4, ev.bindIpi(s.getUint32(0, true))),
  }],
  [EVTCHNOP_close, { size: 4, out: false, run: (ev, s) => ev.close(s.getUint32(0, true)) }],
  [EVTCHNOP_send, { size: 4, out: false, run: (ev, s) => ev.send(s.getUint32(0, true)) }],
  [EVTCHNOP_status, {
    size: 24, // dom u16, pad, port, status, vcpu, union (8)
    out: true,
    run: (ev, s) => {
      const r = ev.status(s.getUint16(0, true), s.getUint32(4, true));
      if (typeof r === "number") return r;
      s.setUint32(8, r.status, true);
      s.setUint32(12, r.vcpu, true);
      s.setUint32(16, 0, true);
      s.setUint32(20, 0, true);
      switch (r.status) {
        case 1: // unbound: u.unbound.dom
          s.setUint16(16, r.dom, true);
          break;
        case 2: // interdomain: u.interdomain.dom, .port
          s.setUint16(16, r.dom, true);
          s.setUint32(20, r.port, true);
          break;
        case 4: // virq
          s.setUint32(16, r.virq, true);
          break;
      }
      return 0;
    },
  }],
  [EVTCHNOP_bind_vcpu, {
    size: 8, // port, vcpu
    out: false,
    run: (ev, s) => ev.bindVcpu(s.getUint32(0, true), s.getUint32(4, true)),
  }],
  [EVTCHNOP_unmask, { size: 4, out: false, run: (ev, s) => ev.unmask(s.getUint32(0, true)) }],
  [EVTCHNOP_reset, { size: 2, out: false, run: (ev, s) => ev.reset(s.getUint16(0, true)) }],
  [EVTCHNOP_init_control, {
    size: 24, // control_gfn u64, offset u32, vcpu u32, link_bits u8 (out), pad[7]
    out: true,
    run: (ev, s) => {
      const rc = ev.initControl(gfn64(s, 0), s.getUint32(8, true), s.getUint32(12, true));
      if (rc === 0) s.setUint8(16, EVTCHN_FIFO_LINK_BITS);
      return rc;
    },
  }],
  [EVTCHNOP_expand_array, {
    size: 8, // array_gfn u64
    out: false,
    run: (ev, s) => ev.expandArray(gfn64(s, 0)),
  }],
  [EVTCHNOP_set_priority, {
    size: 8, // port u32, priority u32
    out: false,
    run: (ev, s) => ev.setPriority(s.getUint32(0, true), s.getUint32(4, true)),
  }],
]);

/** do_event_channel_op(cmd, arg). */
export function doEventChannelOp(v: Vcpu, cmd: number, arg: number): number {
  const c = CMDS.get(cmd);
  const ev = v.domain.evtchn;
  if (!c || !ev) return -ENOSYS;
  const buf = new Uint8Array(c.size);
  if (c.size > 0 && !v.access.copyFromGuest(arg, buf)) return -EFAULT;
  const s = new DataView(buf.buffer);
  const rc = c.run(ev, s, v);
  if (rc === 0 && c.out && !v.access.copyToGuest(arg, buf)) return -EFAULT;
  return rc;
}

/** do_event_channel_op_compat(uop): struct evtchn_op { u32 cmd; union u; }. */
export function doEventChannelOpCompat(v: Vcpu, uop: number): number {
  const cmd = v.access.readU32(uop);
  if (v.access.fault) return -EFAULT;
  return doEventChannelOp(v, cmd, (uop + 4) >>> 0);
}
