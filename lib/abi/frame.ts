/**
 * Frame numbers, typed as Xen's TYPE_SAFE does (mfn_t, gfn_t): a machine frame and a guest
 * frame are both numbers at run time, but the type checker keeps them apart, so passing a
 * pfn where an mfn is due fails `deno check`. Zero cost: the brand exists only in types.
 * @module
 */

/** A machine frame number (mfn_t): an index into machine memory, in pages. */
export type Mfn = number & { readonly __frame: "mfn" };
/** A guest frame number (gfn_t; a PV guest's pfn): an index into its pseudo-physical space. */
export type Gfn = number & { readonly __frame: "gfn" };

/**
 * A number known to be a machine frame (from a P2M entry, a PTE, an allocation).
 * @param n the frame number
 */
export function asMfn(n: number): Mfn {
  return n as Mfn;
}

/**
 * A number known to be a guest frame (from a hypercall argument, a guest structure).
 * @param n the frame number
 */
export function asGfn(n: number): Gfn {
  return n as Gfn;
}
