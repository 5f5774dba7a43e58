/* transport.h - one read/write interface over a socket, plain or TLS.
 *
 * Output is collected in a 64 KiB buffer and written in whole pieces, so a
 * pipelined command group is one write and a message body travels in full
 * TLS records.  Input is read in blocks and handed out line by line with a
 * bound on the line length.  Every wait is bounded by the timeout. */
#ifndef OUTBOX_TRANSPORT_H
#define OUTBOX_TRANSPORT_H

#include "reply.h"
#include "status.h"
#include "tls.h"

#include <stdbool.h>
#include <stddef.h>

#define TRANSPORT_OUT_MAX 65536 /* four full TLS records, sent together */

struct transport {
	int fd;
	struct tls *tls;
	int timeout_ms;
	char in[REPLY_LINE_MAX + 2];
	size_t in_pos, in_len;
	char out[TRANSPORT_OUT_MAX];
	size_t out_len;
};

void transport_init(struct transport *t, int fd, int timeout_ms);

/* Starts TLS on the connection.  Fails (ST_SERVER_TEMP) if the server
 * already sent data that would be read after the handshake: such bytes were
 * injected before TLS and must not be trusted (RFC 3207 5, CVE-2011-0411). */
int transport_start_tls(struct transport *t, const struct tls_params *p, struct error *e);

/* Queues bytes for sending; writes whenever 64 KiB are collected. */
int transport_write(struct transport *t, const void *p, size_t n, struct error *e);

/* Writes whatever is queued. */
int transport_flush(struct transport *t, struct error *e);

/* Reads one line without its CRLF (or LF) into line (NUL-terminated; size
 * REPLY_LINE_MAX + 1).  Returns the length, or -1: a line longer than
 * REPLY_LINE_MAX, a timeout or the connection closing (ST_CONNECT). */
long transport_read_line(struct transport *t, char *line, struct error *e);

/* Ends TLS politely (bounded) and closes the socket. */
void transport_close(struct transport *t);

#endif
