/* wire.h - the DATA encoder: message bytes as they must appear on the wire.
 *
 * RFC 5321 4.5.2 (transparency) and 2.3.8 (lines end in CRLF):
 * - a bare LF becomes CRLF; a CR not followed by LF is kept as it is;
 * - a line starting with '.' gets one more '.';
 * - a line longer than 998 octets gets a CRLF inserted after every 998
 *   octets (what Postfix's smtp_line_length_limit does), so that a long line
 *   never makes a send fail (RFC 5321 4.5.3.1.6);
 * - everything else, NUL and 8-bit bytes included, passes unchanged.
 * The encoder is a streaming state machine: input may be split anywhere. */
#ifndef OUTBOX_WIRE_H
#define OUTBOX_WIRE_H

#include "lib.h"

#include <stdbool.h>
#include <stddef.h>

#define WIRE_LINE_MAX 998

struct wire_encoder {
	bool at_line_start;
	bool pending_cr;
	size_t line_len;
};

void wire_init(struct wire_encoder *w);

/* Appends the encoding of in[0..n) to out.  Returns -1 only when out's
 * bound is exceeded (callers size out so that this cannot happen: the output
 * is at most 2n + 4 bytes longer than the input). */
int wire_encode(struct wire_encoder *w, const char *in, size_t n, struct buf *out);

/* Ends the data: a final CRLF if the last line lacked one, then ".\r\n". */
int wire_finish(struct wire_encoder *w, struct buf *out);

#endif
