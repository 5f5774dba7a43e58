/* transport.h - one read/write interface over a socket, plain or TLS.
 *
 * Output is collected in a 64 KiB buffer and written in whole pieces, so a
 * pipelined command group is one write and a message body travels in full
 * TLS records.  Input is read in blocks and handed out line by line with a
 * bound on the line length.  Every wait is bounded: by the deadline of the
 * current exchange when one is set, else by the timeout for each read or
 * write. */
#ifndef OUTBOX_TRANSPORT_H
#define OUTBOX_TRANSPORT_H

#include "reply.h"
#include "status.h"
#include "tls.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRANSPORT_OUT_MAX 65536 /* four full TLS records, sent together */

struct transport {
	int fd;
	struct tls *tls;
	int timeout_ms;
	bool has_deadline;
	int64_t deadline; /* net_deadline() of the current exchange */
	size_t received;  /* bytes read so far */
	char in[REPLY_LINE_MAX + 2];
	size_t in_pos, in_len;
	char out[TRANSPORT_OUT_MAX];
	size_t out_len;
};

void transport_init(struct transport *t, int fd, int timeout_ms);

/* Sets the point in time (net_deadline()) by which the current exchange
 * must be complete: reads and writes wait until then at most, however the
 * server spreads its bytes. */
void transport_set_deadline(struct transport *t, int64_t deadline);

/* Back to a limit of timeout_ms for each read and write (a message body:
 * each 64 KiB piece must get out within it). */
void transport_clear_deadline(struct transport *t);

/* Whether the deadline set is past: after a failed read or write, the
 * exchange ran out of time. */
bool transport_expired(const struct transport *t);

/* Starts TLS on the connection.  Fails (ST_SERVER_TEMP) if the server
 * already sent data that would be read after the handshake: such bytes were
 * injected before TLS and must not be trusted (RFC 3207 5, CVE-2011-0411). */
int transport_start_tls(struct transport *t, const struct tls_params *p, struct error *e);

/* Whether TLS is on: the only thing protocol code needs to know about it. */
bool transport_is_encrypted(const struct transport *t);

/* Channel binding data of the TLS session for SCRAM-*-PLUS (RFC 9266):
 * tls-exporter on TLS 1.3, tls-unique before it; *type is set to the one
 * used.  On success *data is a malloc'd buffer of *len bytes that the
 * caller frees.  Returns 0, or -1 without TLS or when the session cannot
 * give it. */
int transport_channel_binding(const struct transport *t, const char **type, unsigned char **data,
			      size_t *len);

/* Appends the TLS session's description (tls_describe()) for
 * --serverinfo; nothing without TLS.  Returns 0, or -1 if out has no
 * room. */
int transport_describe_tls(const struct transport *t, struct buf *out);

/* Whether the server answers a TLS ClientHello on fd, a fresh connection
 * to host (closed here, also when fd is -1: false): a handshake that
 * checks nothing, with the given priority string (NULL: the default),
 * within timeout_ms. */
bool transport_speaks_tls(int fd, const char *host, const char *priorities, int timeout_ms);

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
