/* wire.h - the DATA encoder: message bytes as they must appear on the wire.
 *
 * RFC 5321 4.5.2 (transparency) and 2.3.8 (lines end in CRLF), and nothing
 * more: the bytes go out as they are except for line endings and dots.
 * - CRLF, a bare LF and a bare CR each end a line and become CRLF, so no
 *   CR or LF ever goes out alone (a lone CR is a line end to some servers:
 *   "\r.\r\n" must not end the data early, SMTP smuggling);
 * - a line starting with '.' gets one more '.';
 * - long lines are sent whole (RFC 5321 4.5.3.1.6 allows servers to
 *   refuse them; breaking them would change patches and signed mail);
 * - everything else, NUL and 8-bit bytes included, passes unchanged.
 * The encoder is a streaming state machine: input may be split anywhere,
 * a CR at the end of one piece and an LF at the start of the next are one
 * line end. */
#ifndef OUTBOX_WIRE_H
#define OUTBOX_WIRE_H

#include "lib.h"

#include <stdbool.h>
#include <stddef.h>

struct wire_encoder {
	bool at_line_start;
	bool pending_cr; /* the last byte was a CR: an LF now belongs to it */
};

void wire_init(struct wire_encoder *w);

/* Appends the encoding of in[0..n) to out.  Returns -1 only when out's
 * bound is exceeded (callers size out so that this cannot happen: the output
 * is at most 2n + 5 bytes, wire_finish() included). */
int wire_encode(struct wire_encoder *w, const char *in, size_t n, struct buf *out);

/* Ends the data: a final CRLF if the last line lacked one, then ".\r\n". */
int wire_finish(struct wire_encoder *w, struct buf *out);

#endif
