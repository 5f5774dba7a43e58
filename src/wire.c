/* wire.c - CRLF normalisation, dot-stuffing and long-line breaking for DATA.
 *
 * Untrusted input: the message body, which may hold any byte.  The output
 * grows by at most one byte per input byte (LF -> CRLF, '.' -> '..', a CRLF
 * every 998 octets), so a caller can bound its buffer. */
#include "config.h"

#include "wire.h"

#include <string.h>

void
wire_init(struct wire_encoder *w)
{
	w->at_line_start = true;
	w->pending_cr = false;
	w->line_len = 0;
}

static int
put_crlf(struct wire_encoder *w, struct buf *out)
{
	w->at_line_start = true;
	w->line_len = 0;
	return buf_append(out, "\r\n", 2);
}

/* One ordinary octet (not part of a line ending). */
static int
put_octet(struct wire_encoder *w, char c, struct buf *out)
{
	if (w->line_len == WIRE_LINE_MAX && put_crlf(w, out) < 0)
		return -1;
	if (w->at_line_start && c == '.' && buf_append(out, ".", 1) < 0)
		return -1;
	w->at_line_start = false;
	w->line_len++;
	return buf_append(out, &c, 1);
}

int
wire_encode(struct wire_encoder *w, const char *in, size_t n, struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		char c = in[i];

		if (w->pending_cr) {
			w->pending_cr = false;
			if (c == '\n') {
				if (put_crlf(w, out) < 0)
					return -1;
				i++;
				continue;
			}
			if (put_octet(w, '\r', out) < 0)
				return -1;
		}
		if (c == '\r') {
			w->pending_cr = true;
			i++;
			continue;
		}
		if (c == '\n') {
			if (put_crlf(w, out) < 0)
				return -1;
			i++;
			continue;
		}
		if (!w->at_line_start && w->line_len < WIRE_LINE_MAX) {
			/* Fast path: copy the run of plain octets up to the next line
			 * ending or the line-length limit in one go. */
			size_t room = WIRE_LINE_MAX - w->line_len;
			size_t run = 0;

			while (run < room && i + run < n && in[i + run] != '\r' &&
			       in[i + run] != '\n')
				run++;
			if (buf_append(out, in + i, run) < 0)
				return -1;
			w->line_len += run;
			i += run;
			continue;
		}
		if (put_octet(w, c, out) < 0)
			return -1;
		i++;
	}
	return 0;
}

int
wire_finish(struct wire_encoder *w, struct buf *out)
{
	if (w->pending_cr) {
		w->pending_cr = false;
		if (put_octet(w, '\r', out) < 0)
			return -1;
	}
	if (!w->at_line_start && put_crlf(w, out) < 0)
		return -1;
	return buf_append(out, ".\r\n", 3);
}
