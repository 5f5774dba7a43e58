/* notice.c - fuzz target: the failure notice builder's input
 * (src/notice.h).
 *
 * A notice is made from what the server said and what the queue kept: the
 * input holds NUL-separated fields, in order the original envelope sender
 * (to_addr), the remote host, the ENVID, the reason, then pairs of a
 * recipient and its server reply up to an empty recipient (at most
 * NOTICE_RCPTS_MAX), and last the original message, whose header block
 * goes into the notice.  Missing fields are empty; an empty reply is
 * "none".  Boundary and Message-ID are fixed, so a run repeats. */
#include "config.h"

#include "fuzz.h"

#include "lib.h"
#include "notice.h"

#include <stdlib.h>
#include <string.h>

struct fields {
	const char *p, *end;
};

/* The next NUL-terminated field; "" once the input is used up. */
static const char *
next_field(struct fields *f)
{
	const char *s = f->p;
	const char *nul = memchr(s, '\0', (size_t)(f->end - s));

	if (nul == NULL)
		return "";
	f->p = nul + 1;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct notice_rcpt *rcpts = NULL;
	struct fields f = {(const char *)data, (const char *)data + size};
	struct notice n = {
		.from_addr = "user@example.org",
		.reporting_host = "laptop.example.org",
		.arrival = 1764000000,
		.last_attempt = 1764400000,
		.now = 1764432000,
		.msgid_domain = "example.org",
		.boundary_override = "=_outbox_fuzz_boundary",
		.msgid_override = "<notice@example.org>",
	};
	struct error e;
	struct buf out;
	const char *addr;

	n.to_addr = next_field(&f);
	n.remote_host = next_field(&f);
	n.envid = next_field(&f);
	n.reason = next_field(&f);
	while (n.nrcpts < NOTICE_RCPTS_MAX && *(addr = next_field(&f)) != '\0') {
		const char *reply = next_field(&f);

		rcpts = xrealloc(rcpts, (n.nrcpts + 1) * sizeof *rcpts);
		rcpts[n.nrcpts].addr = addr;
		rcpts[n.nrcpts].reply = *reply != '\0' ? reply : NULL;
		n.nrcpts++;
	}
	n.rcpts = rcpts;
	n.orig_headers = f.p;
	n.orig_headers_len = (size_t)(f.end - f.p);
	buf_init(&out, 0);
	notice_build(&n, &out, &e);
	buf_free(&out);
	free(rcpts);
	return 0;
}
