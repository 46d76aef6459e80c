/**
 * Per-domain XenStore quotas with xenstored's (Xen 4.17) default limits. Privileged
 * connections (dom0, socket clients) are not subject to them.
 * @module
 */

/** The limits applied to unprivileged domains. */
export interface XsQuotas {
  /** Nodes a domain may own (quota-nb-entry-per-domain). */
  nodesPerDomain: number;
  /** Watches per domain (quota-nb-watch-per-domain). */
  watchesPerDomain: number;
  /** Bytes of value plus children names in one node (quota-max-entry-size). */
  maxEntrySize: number;
  /** Concurrent transactions per connection (quota-max-transaction). */
  transactionsPerConn: number;
  /** Permission entries per node beyond the owner's (quota-nb-perms-per-node). */
  permsPerNode: number;
  /** Nodes one transaction may touch (quota-trans-nodes). */
  nodesPerTransaction: number;
  /**
   * Bytes of replies and watch events a connection may have queued; watch events past
   * it are dropped (and counted), as xenstored drops events for a stalled reader.
   */
  maxPendingOutput: number;
}

/** xenstored's defaults. */
export const DEFAULT_QUOTAS: Readonly<XsQuotas> = Object.freeze({
  nodesPerDomain: 1000,
  watchesPerDomain: 128,
  maxEntrySize: 2048,
  transactionsPerConn: 10,
  permsPerNode: 5,
  nodesPerTransaction: 1024,
  maxPendingOutput: 128 * 1024,
});
