/* message.c - fuzz target: the header scanner, -t recipients and the
 * header rewriting (src/message.h).
 *
 * The first byte picks options, the rest is a message as a program hands
 * it to outbox on stdin.  As submit.c does: message_layout() finds the
 * header block (bit 0 of the option byte: with a 256-byte bound instead
 * of 1 MiB, to reach the limit), then message_from_address(),
 * message_recipients() (-t) and message_rewrite_headers() run over it, the
 * rewrite with the settings bits 1-7 pick; deliver.c's walk with
 * message_fields() and the spool's message_has_blank_line() and
 * message_has_8bit() run too. */
#include "config.h"

#include "fuzz.h"

#include "lib.h"
#include "message.h"

#include <stdlib.h>
#include <string.h>

static int
look_at_field(void *ctx, const struct message_field *f, struct error *e)
{
	unsigned *count = ctx;

	message_field_is(f, "Message-ID");
	message_field_is(f, "To");
	return ++*count < 20000 ? 0 : 1;
}

static enum message_set
set_mode(unsigned bits)
{
	return bits % 3 == 0 ? MESSAGE_SET_AUTO : bits % 3 == 1 ? MESSAGE_SET_ON : MESSAGE_SET_OFF;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data + 1;
	size_t len = size > 0 ? size - 1 : 0;
	unsigned opt = size > 0 ? data[0] : 0;
	struct message_layout lay;
	struct message_rewrite rw;
	struct strlist rcpts;
	struct error e;
	struct buf out;
	char *from = NULL;
	unsigned count = 0;
	const char *hdr;
	size_t hlen;

	message_has_blank_line(msg, len);
	message_has_8bit(msg, len);
	if (message_layout(msg, len, opt & 1 ? 256 : MESSAGE_HEADER_MAX, &lay, &e) < 0)
		return 0;
	hdr = msg + lay.header_start;
	hlen = lay.header_end - lay.header_start;
	message_fields(hdr, hlen, look_at_field, &count, &e);
	if (message_from_address(hdr, hlen, &from, &e) < 0)
		return 0;
	strlist_init(&rcpts);
	message_recipients(hdr, hlen, &rcpts, &e);
	strlist_free(&rcpts);
	memset(&rw, 0, sizeof rw);
	rw.remove_bcc = opt & 2;
	rw.undisclosed_recipients = opt & 4;
	rw.from_header = set_mode(opt >> 3 & 3);
	rw.date_header = set_mode(opt >> 5 & 1);
	rw.msgid_header = set_mode(opt >> 6 & 3);
	rw.from_addr = from != NULL ? from : "sender@example.org";
	rw.from_name = opt & 2 ? "Cron Daemon" : NULL;
	rw.msgid_domain = "example.org";
	rw.msgid_override = "<fuzz@example.org>";
	rw.now = 1764000000;
	buf_init(&out, 0);
	if (message_rewrite_headers(hdr, hlen, &rw, &out, &e) == 0)
		buf_puts(&out, lay.eol);
	buf_free(&out);
	free(from);
	return 0;
}
