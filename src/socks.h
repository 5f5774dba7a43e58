/* socks.h - reaching the mail server through a SOCKS5 proxy (RFC 1928):
 * proxy_host and proxy_port.
 *
 * The proxy resolves the server's name: the CONNECT request carries the
 * name itself (ATYP 3, as A-labels), so no local DNS lookup of the server
 * is made and the proxy may be Tor.  Only "no authentication" (method 0)
 * is offered.  Reading the proxy's replies stops at their last byte, so
 * what the server sends after them (its greeting, a TLS handshake) stays
 * in the socket for the transport.
 *
 * Failure classes: the proxy unreachable, a failure it reports for the
 * connection (general failure, network or host unreachable, refused, TTL
 * expired), it closing or not finishing in time: ST_CONNECT, the message
 * stays queued.  A peer that does not speak SOCKS5, wants authentication,
 * sends a malformed reply, or refuses the request by its rules or as
 * unsupported: ST_CONFIG, the proxy named with what to check. */
#ifndef OUTBOX_SOCKS_H
#define OUTBOX_SOCKS_H

#include "status.h"

#include <stddef.h>
#include <stdint.h>

/* The longest CONNECT reply: VER REP RSV ATYP, a 255-byte name with its
 * length byte, the port. */
#define SOCKS_REPLY_MAX (4 + 1 + 255 + 2)

struct socks_request {
	const char *proxy_host, *proxy_port; /* the proxy, also for errors */
	const char *host, *port;             /* the mail server, as configured */
	int timeout_ms;                      /* for errors: the deadline's length */
};

/* Connects to the proxy (net_connect(), bound to source_ip when not NULL)
 * and asks it for a connection to r->host and r->port: reaching the proxy
 * and the whole SOCKS5 exchange share one deadline, r->timeout_ms from
 * now (negative: none), however the proxy spreads its bytes.  Returns the
 * non-blocking descriptor, connected through to the server, or -1 with e
 * set. */
int socks_connect(const struct socks_request *r, const char *source_ip, struct error *e);

/* The SOCKS5 exchange on fd, a connection to the proxy: greeting, method
 * reply, CONNECT, its reply, all by deadline (net_deadline()).  Returns 0,
 * or -1 with e set; the caller closes fd. */
int socks_handshake(int fd, const struct socks_request *r, int64_t deadline, struct error *e);

/* The method-selection reply (2 bytes): 0, or -1 with e set. */
int socks_check_method(const unsigned char reply[2], const struct socks_request *r,
		       struct error *e);

/* How many more bytes of the CONNECT reply to read when the first n are
 * in reply (n is 0, then what earlier calls asked for): 0 once it is
 * complete and says "succeeded", or -1 with e set for a failure it
 * reports or a malformed reply.  The total never exceeds
 * SOCKS_REPLY_MAX. */
long socks_reply_need(const unsigned char *reply, size_t n, const struct socks_request *r,
		      struct error *e);

#endif
