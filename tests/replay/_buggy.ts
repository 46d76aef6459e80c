/**
 * Test-only backends with injected bugs, built through the replay's BackendFactory hook
 * (the backend files are not touched): a blkback whose grant copies use a wrong offset
 * for partial pages, and one whose copied-out read data is corrupted.
 * @module
 */
import type { DeviceHost } from "../../lib/hypervisor/backend/backend_api.ts";
import type { StreamConfig } from "../../lib/replay/recording_format.ts";
import { type BackendFactory, defaultBackend } from "../../lib/replay/backends.ts";

/** Wraps `host` so that the backend's grant copies go through `patch`. */
function patched(
  host: DeviceHost,
  patch: (offset: number, data: Uint8Array) => [number, Uint8Array],
): DeviceHost {
  return {
    store: host.store,
    mapGrant: (d, g, ro) => host.mapGrant(d, g, ro),
    unmapGrant: (m) => host.unmapGrant(m),
    copyFromGrant: (d, g, off, dst) => {
      const [o] = patch(off, dst);
      return host.copyFromGrant(d, g, o, dst);
    },
    copyToGrant: (d, g, off, src) => {
      const [o, s] = patch(off, src);
      return host.copyToGrant(d, g, o, s);
    },
    bindInterdomain: (d, p, cb) => host.bindInterdomain(d, p, cb),
    close: (p) => host.close(p),
    mapForeignFrame: (d, m) => host.mapForeignFrame(d, m),
    defer: (fn) => host.defer(fn),
  };
}

/**
 * A blkback that computes a segment's page offset one sector too far whenever the
 * segment does not start at sector 0: a partial segment ending at sector 7 then reaches
 * past its granted page. The recordings use whole pages only, so only a hostile frontend
 * (first_sect > 0) can find it.
 */
export const offByOneBlkback: BackendFactory = (host, c: StreamConfig, disk) =>
  defaultBackend(patched(host, (off, d) => [off > 0 ? off + 512 : off, d]), c, disk);

/** A blkback that flips the first byte of every read it copies to the guest. */
export const corruptingBlkback: BackendFactory = (host, c: StreamConfig, disk) =>
  defaultBackend(
    {
      ...patched(host, (off, d) => [off, d]),
      copyToGrant: (dom, g, off, src) => {
        const s = src.slice();
        s[0] ^= 0xff;
        return host.copyToGrant(dom, g, off, s);
      },
    },
    c,
    disk,
  );

/** A blkback whose copies into the guest all fail (every read is answered with an error). */
export const failingReadsBlkback: BackendFactory = (host, c: StreamConfig, disk) =>
  defaultBackend({ ...patched(host, (off, d) => [off, d]), copyToGrant: () => -3 }, c, disk);

/** A blkback whose host drops every deferred completion: requests are never answered. */
export const lostCompletionBlkback: BackendFactory = (host, c: StreamConfig, disk) =>
  defaultBackend({ ...patched(host, (off, d) => [off, d]), defer: () => {} }, c, disk);

/** A blkback that keeps scheduling work forever (a livelock). */
export const livelockBlkback: BackendFactory = (host, c: StreamConfig, disk) => {
  const spin = (): void => host.defer(spin);
  return defaultBackend(
    {
      ...patched(host, (off, d) => [off, d]),
      defer: (fn) => host.defer(() => (fn(), spin())),
    },
    c,
    disk,
  );
};

/** A blkback whose grant copies throw (a TypeError escaping the backend). */
export const throwingBlkback: BackendFactory = (host, c: StreamConfig, disk) =>
  defaultBackend(
    {
      ...patched(host, (off, d) => [off, d]),
      copyFromGrant: () => {
        throw new TypeError("boom");
      },
    },
    c,
    disk,
  );
