/* net.h - opening connections (TCP or a Unix socket) and waiting on them
 * with deadlines.
 *
 * Every descriptor handed out is non-blocking and close-on-exec: the
 * transport waits with net_wait() before each read and write so that no
 * operation can outlive the configured timeout.  Timeouts are milliseconds;
 * a negative timeout means "no limit", as for poll(2).
 */
#ifndef OUTBOX_NET_H
#define OUTBOX_NET_H

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Resolves host (a name or an address literal) and port_or_service
 * (getaddrinfo, AF_UNSPEC), then connects with Happy Eyeballs (RFC 8305):
 * IPv6 addresses first, the families alternating; the next address is
 * tried when the one before has not connected within 250 ms, or at once
 * when it failed; attempts stay in flight together and the first that
 * connects wins, the others are closed.  All within timeout_ms in total.
 * When source_ip is not NULL the socket is bound to that numeric address
 * first and only addresses of its family are tried.  TCP_NODELAY is set.
 * Returns the connected, non-blocking, close-on-exec descriptor (the
 * caller closes it), or -1 with e filled: ST_CONNECT for resolution,
 * refusal, unreachability and timeouts (the failure that says most:
 * a refusal rather than IPv6's missing route), ST_CONFIG for an unusable
 * port or source_ip. */
int net_connect(const char *host, const char *port_or_service, const char *source_ip,
		int timeout_ms, struct error *e);

/* net_connect() over addresses already resolved (list, as getaddrinfo()
 * gives them; host and port only name the server in errors): what the
 * unit tests race against listeners of their own. */
int net_connect_addresses(const struct addrinfo *list, const char *host, const char *port,
			  const char *source_ip, int timeout_ms, struct error *e);

/* Connects to the Unix-domain stream socket at path (msmtp's `socket`),
 * within timeout_ms.  Returns a non-blocking descriptor or -1 with e filled
 * (ST_CONFIG for a path that cannot be a socket address, ST_CONNECT
 * otherwise). */
int net_connect_unix(const char *path, int timeout_ms, struct error *e);

/* Waits until fd is ready for events (POLLIN and/or POLLOUT) or has an error
 * or hang-up pending, retrying EINTR with the time that is left.  Returns 1
 * when ready, 0 on timeout, -1 with errno set on failure. */
int net_wait(int fd, short events, int timeout_ms);

/* A point in time timeout_ms from now on the monotonic clock, for a
 * sequence of waits that share one limit; a negative timeout gives a
 * deadline that never passes. */
int64_t net_deadline(int timeout_ms);

/* Milliseconds left until deadline, as a poll(2) timeout: 0 once it has
 * passed, -1 for a deadline that never passes. */
int net_remaining(int64_t deadline);

/* Sends all n bytes on a non-blocking socket within timeout_ms (-1: no
 * limit), never raising SIGPIPE.  0, or -1 with errno (ETIMEDOUT when the
 * time ran out). */
int net_send_all(int fd, const void *p, size_t n, int timeout_ms);

/* After reading from a TCP socket: acknowledge what was read now instead
 * of after the delayed-ACK timer (Linux TCP_QUICKACK).  A server that
 * sends two small writes in a row (TLS 1.3 session tickets, then its
 * reply) with Nagle's algorithm on waits for that ACK before the second:
 * without this, 40 ms per exchange.  Errors (not TCP) are ignored. */
void net_ack_now(int fd);

#endif
