/* socks.c - the SOCKS5 client (RFC 1928): greeting without
 * authentication, CONNECT by name or address, the reply read to its last
 * byte and no further (see socks.h).
 *
 * Untrusted input: every byte the proxy sends.  Replies are read in
 * pieces whose length the bytes before them fix (at most SOCKS_REPLY_MAX
 * in all), and every read and write waits until the one deadline of the
 * handshake at most. */
#include "config.h"

#include "socks.h"

#include "address.h"
#include "i18n.h"
#include "lib.h"
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCKS_VERSION 5
#define SOCKS_NO_AUTH 0
#define SOCKS_NO_ACCEPTABLE 0xff
#define SOCKS_CONNECT 1
#define ATYP_IPV4 1
#define ATYP_NAME 3
#define ATYP_IPV6 4

/* RFC 1928 6: the reply codes, and what each means for the message. */
static const struct {
	const char *name;
	enum status status;
} replies[] = {
	[1] = {N_("general SOCKS server failure"), ST_CONNECT},
	[2] = {N_("connection not allowed by ruleset"), ST_CONFIG},
	[3] = {N_("network unreachable"), ST_CONNECT},
	[4] = {N_("host unreachable"), ST_CONNECT},
	[5] = {N_("connection refused"), ST_CONNECT},
	[6] = {N_("TTL expired"), ST_CONNECT},
	[7] = {N_("command not supported"), ST_CONFIG},
	[8] = {N_("address type not supported"), ST_CONFIG},
};

static int
not_socks5(const struct socks_request *r, unsigned version, struct error *e)
{
	return error_set(e, ST_CONFIG,
			 _("%s port %s is not a SOCKS5 proxy (it answered with version %u); check "
			   "proxy_host and proxy_port"),
			 r->proxy_host, r->proxy_port, version);
}

static int
malformed(const struct socks_request *r, const char *field, unsigned value, struct error *e)
{
	return error_set(e, ST_CONFIG,
			 _("SOCKS5 proxy %s sent a malformed reply (%s: %u); check proxy_host and "
			   "proxy_port"),
			 r->proxy_host, field, value);
}

int
socks_check_method(const unsigned char reply[2], const struct socks_request *r, struct error *e)
{
	if (reply[0] != SOCKS_VERSION)
		return not_socks5(r, reply[0], e);
	if (reply[1] == SOCKS_NO_AUTH)
		return 0;
	if (reply[1] == SOCKS_NO_ACCEPTABLE)
		return error_set(e, ST_CONFIG,
				 _("SOCKS5 proxy %s requires authentication, which outbox does not "
				   "offer; use a proxy that accepts clients without it"),
				 r->proxy_host);
	return error_set(e, ST_CONFIG,
			 _("SOCKS5 proxy %s chose authentication method %u, which was not offered; "
			   "check proxy_host and proxy_port"),
			 r->proxy_host, reply[1]);
}

static int
reply_failure(const struct socks_request *r, unsigned code, struct error *e)
{
	if (code >= sizeof replies / sizeof replies[0])
		return malformed(r, _("reply code"), code, e);
	if (replies[code].status == ST_CONFIG)
		return error_set(
			e, ST_CONFIG,
			_("SOCKS5 proxy %s refused the connection to %s port %s: %s (reply "
			  "%u); check the proxy's configuration"),
			r->proxy_host, r->host, r->port, _(replies[code].name), code);
	return error_set(e, ST_CONNECT,
			 _("SOCKS5 proxy %s could not connect to %s port %s: %s (reply %u)"),
			 r->proxy_host, r->host, r->port, _(replies[code].name), code);
}

long
socks_reply_need(const unsigned char *reply, size_t n, const struct socks_request *r,
		 struct error *e)
{
	size_t total;

	/* VER REP RSV ATYP: the failure codes first, since a proxy that
	 * failed may fill the rest carelessly. */
	if (n < 4)
		return (long)(4 - n);
	if (reply[0] != SOCKS_VERSION)
		return not_socks5(r, reply[0], e);
	if (reply[1] != 0)
		return reply_failure(r, reply[1], e);
	if (reply[2] != 0)
		return malformed(r, _("reserved byte"), reply[2], e);
	switch (reply[3]) {
	case ATYP_IPV4:
		total = 4 + 4 + 2;
		break;
	case ATYP_IPV6:
		total = 4 + 16 + 2;
		break;
	case ATYP_NAME:
		if (n < 5)
			return (long)(5 - n);
		if (reply[4] == 0)
			return malformed(r, _("domain name length"), 0, e);
		total = 5 + (size_t)reply[4] + 2;
		break;
	default:
		return malformed(r, _("address type"), reply[3], e);
	}
	return n < total ? (long)(total - n) : 0;
}

/* The CONNECT request (RFC 1928 4) for r->host and r->port into req
 * (SOCKS_REPLY_MAX bytes, the longest request too): its length, or -1. */
static long
build_request(const struct socks_request *r, unsigned char *req, struct error *e)
{
	long port, n = 0;
	size_t len;
	char *name;

	if (parse_long(r->port, 1, 65535, &port) < 0)
		return error_set(
			e, ST_CONFIG,
			_("port %s is not a number from 1 to 65535, which proxy_host needs"),
			r->port);
	req[n++] = SOCKS_VERSION;
	req[n++] = SOCKS_CONNECT;
	req[n++] = 0;
	if (inet_pton(AF_INET, r->host, req + n + 1) == 1) {
		req[n] = ATYP_IPV4;
		n += 1 + 4;
	} else if (inet_pton(AF_INET6, r->host, req + n + 1) == 1) {
		req[n] = ATYP_IPV6;
		n += 1 + 16;
	} else {
		name = address_host_to_ascii(r->host, e);
		if (name == NULL)
			return -1;
		len = strlen(name);
		if (len == 0 || len > 255) {
			free(name);
			return error_set(e, ST_CONFIG,
					 _("host %s is too long for a SOCKS5 request (255 bytes at "
					   "most); check host"),
					 r->host);
		}
		req[n++] = ATYP_NAME;
		req[n++] = (unsigned char)len;
		memcpy(req + n, name, len);
		n += (long)len;
		free(name);
	}
	req[n++] = (unsigned char)(port >> 8);
	req[n++] = (unsigned char)(port & 0xff);
	return n;
}

static int
timed_out(const struct socks_request *r, struct error *e)
{
	return error_set(e, ST_CONNECT,
			 _("SOCKS5 proxy %s did not complete the handshake within %g s"),
			 r->proxy_host, r->timeout_ms / 1000.0);
}

static int
send_bytes(int fd, const unsigned char *p, size_t n, const struct socks_request *r,
	   int64_t deadline, struct error *e)
{
	if (net_send_all(fd, p, n, net_remaining(deadline)) == 0)
		return 0;
	if (errno == ETIMEDOUT)
		return timed_out(r, e);
	return error_set(e, ST_CONNECT, _("SOCKS5 proxy %s: %s"), r->proxy_host, strerror(errno));
}

/* Reads exactly n bytes: never more, so that what follows the reply
 * stays in the socket. */
static int
read_bytes(int fd, unsigned char *p, size_t n, const struct socks_request *r, int64_t deadline,
	   struct error *e)
{
	while (n > 0) {
		ssize_t got = recv(fd, p, n, 0);

		if (got > 0) {
			p += got;
			n -= (size_t)got;
			continue;
		}
		if (got == 0)
			return error_set(e, ST_CONNECT,
					 _("SOCKS5 proxy %s closed the connection during the "
					   "handshake"),
					 r->proxy_host);
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int ready = net_wait(fd, POLLIN, net_remaining(deadline));

			if (ready == 0)
				return timed_out(r, e);
			if (ready > 0)
				continue;
		}
		return error_set(e, ST_CONNECT, _("SOCKS5 proxy %s: %s"), r->proxy_host,
				 strerror(errno));
	}
	return 0;
}

int
socks_handshake(int fd, const struct socks_request *r, int64_t deadline, struct error *e)
{
	static const unsigned char greeting[] = {SOCKS_VERSION, 1, SOCKS_NO_AUTH};
	unsigned char req[SOCKS_REPLY_MAX], reply[SOCKS_REPLY_MAX];
	long len, need;
	size_t n = 0;

	len = build_request(r, req, e);
	if (len < 0)
		return -1;
	if (send_bytes(fd, greeting, sizeof greeting, r, deadline, e) < 0 ||
	    read_bytes(fd, reply, 2, r, deadline, e) < 0 || socks_check_method(reply, r, e) < 0 ||
	    send_bytes(fd, req, (size_t)len, r, deadline, e) < 0)
		return -1;
	while ((need = socks_reply_need(reply, n, r, e)) > 0) {
		if (read_bytes(fd, reply + n, (size_t)need, r, deadline, e) < 0)
			return -1;
		n += (size_t)need;
	}
	return need < 0 ? -1 : 0;
}

int
socks_connect(const struct socks_request *r, const char *source_ip, struct error *e)
{
	int64_t deadline = net_deadline(r->timeout_ms);
	struct error inner;
	int fd;

	error_clear(&inner);
	fd = net_connect(r->proxy_host, r->proxy_port, source_ip, r->timeout_ms, &inner);
	if (fd < 0)
		return error_set(e, inner.status, _("SOCKS5 proxy: %s"), inner.msg);
	if (socks_handshake(fd, r, deadline, e) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}
