/* reply.c - fuzz target: server replies and EHLO capabilities
 * (src/reply.h).
 *
 * The input is what a server sends: it is cut into lines as
 * transport_read_line() cuts them (LF ends a line, a CR before it is
 * dropped, a line with NUL or over REPLY_LINE_MAX is refused there and
 * ends the session) and fed to reply_feed() as read_reply() does; each
 * complete reply is read as an EHLO reply too (caps_parse), and its first
 * line and capabilities are described as the client does for messages
 * and --serverinfo. */
#include "config.h"

#include "fuzz.h"

#include "reply.h"

#include <string.h>

static void
use_reply(const struct reply *r)
{
	char first[512], described[1024];
	struct caps c;

	reply_first_line(r, first, sizeof first);
	memset(&c, 0, sizeof c);
	caps_parse(r, &c);
	caps_has_auth(&c, "PLAIN");
	caps_has_auth(&c, "SCRAM-SHA-256-PLUS");
	caps_describe(&c, described, sizeof described);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size;
	char line[REPLY_LINE_MAX + 1];
	struct reply r;
	struct error e;

	reply_init(&r);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len;
		int rc;

		if (nl == NULL)
			break; /* the connection closed in the middle of a line */
		len = (size_t)(nl - s);
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (len > REPLY_LINE_MAX || memchr(s, '\0', len) != NULL)
			break;
		memcpy(line, s, len);
		line[len] = '\0';
		s = nl + 1;
		rc = reply_feed(&r, line, len, &e);
		if (rc < 0)
			break;
		if (rc == 1) {
			use_reply(&r);
			reply_init(&r);
		}
	}
	return 0;
}
