/* wire.c - CRLF normalisation and dot-stuffing for DATA.
 *
 * Untrusted input: the message body, which may hold any byte.  The output
 * grows by at most one byte per input byte (LF -> CRLF, CR -> CRLF,
 * '.' -> '..'), so a caller can bound its buffer. */
#include "config.h"

#include "wire.h"

void
wire_init(struct wire_encoder *w)
{
	w->at_line_start = true;
	w->pending_cr = false;
}

static int
put_crlf(struct wire_encoder *w, struct buf *out)
{
	w->at_line_start = true;
	return buf_append(out, "\r\n", 2);
}

/* The length of the run of in[0..n) up to the first CR or LF. */
static size_t
plain_run(const char *in, size_t n)
{
	size_t run = 0;

	while (run < n && in[run] != '\r' && in[run] != '\n')
		run++;
	return run;
}

int
wire_encode(struct wire_encoder *w, const char *in, size_t n, struct buf *out)
{
	size_t i = 0;

	while (i < n) {
		size_t run;

		if (w->pending_cr) {
			/* The CR already ended the line; its LF adds nothing. */
			w->pending_cr = false;
			if (in[i] == '\n') {
				i++;
				continue;
			}
		}
		if (in[i] == '\r' || in[i] == '\n') {
			w->pending_cr = in[i] == '\r';
			if (put_crlf(w, out) < 0)
				return -1;
			i++;
			continue;
		}
		if (w->at_line_start && in[i] == '.' && buf_append(out, ".", 1) < 0)
			return -1;
		w->at_line_start = false;
		run = plain_run(in + i, n - i);
		if (buf_append(out, in + i, run) < 0)
			return -1;
		i += run;
	}
	return 0;
}

int
wire_finish(struct wire_encoder *w, struct buf *out)
{
	w->pending_cr = false;
	if (!w->at_line_start && put_crlf(w, out) < 0)
		return -1;
	return buf_append(out, ".\r\n", 3);
}
