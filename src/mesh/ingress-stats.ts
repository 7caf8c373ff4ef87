// Per-listener counters kept as plain numbers on the hot path; mesh-metrics.ts turns them into
// Prometheus series when scraped, so a connection never pays for label hashing.

export class IngressStats {
  /** Client connections accepted (TCP) or flows opened (UDP). */
  connectionsTotal = 0;
  /** Client connections that got no backend at all and were reset. */
  rejectedTotal = 0;
  /** Upstream connect attempts that failed (refused, timed out, unreachable). */
  connectErrorsTotal = 0;
  /** Connect attempts made after a failed one, for the same client connection. */
  connectRetriesTotal = 0;
  /** Open client connections (TCP) or live flows (UDP). */
  active = 0;
  /** Bytes from clients to backends / from backends to clients, of finished connections. */
  bytesInClosed = 0;
  bytesOutClosed = 0;
  /** UDP datagrams dropped because the flow table was full. */
  udpDroppedTotal = 0;

  /** Bytes of connections still open, added at scrape time. */
  liveBytes: () => { bytesIn: number; bytesOut: number } = () => ({ bytesIn: 0, bytesOut: 0 });
}
