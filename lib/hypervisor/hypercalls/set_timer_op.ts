/**
 * set_timer_op (hypercall 15), also VCPUOP_set_singleshot_timer's arming step: the vcpu's
 * single-shot timer at an absolute system time (time/timers.ts fires it).
 * @module
 */
import { TIMER_OFF, type Vcpu } from "../domain/vcpu.ts";
import { sendTimerEvent } from "../time/timers.ts";

/**
 * do_set_timer_op(timeout): arms (or, with 0, stops) the single-shot timer at an
 * absolute system time. A deadline in the past, or absurdly far in the future (a
 * wrapped Linux jiffy computation), fires at once, as Xen does.
 * @param v the vcpu
 * @param timeoutNs absolute system time in ns (0 = stop)
 */
export function setTimerOp(v: Vcpu, timeoutNs: number): number {
  if (timeoutNs === 0) {
    v.singleshotNs = TIMER_OFF;
    return 0;
  }
  const now = v.domain.host.clock.nowNs();
  const offset = timeoutNs - now;
  if (offset > 2 ** 50) {
    v.singleshotNs = TIMER_OFF;
    sendTimerEvent(v);
    return 0;
  }
  v.singleshotNs = timeoutNs;
  if (offset <= 0) {
    v.singleshotNs = TIMER_OFF;
    sendTimerEvent(v);
  }
  return 0;
}
