/**
 * The pvx version, kept in step with deno.json.
 * @module
 */

/** The pvx version string. */
export const VERSION = "0.1.0";
