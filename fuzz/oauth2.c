/* oauth2.c - fuzz target: what OAuth2 reads from outside (src/oauth2.h).
 *
 * The first byte picks the parser, the rest is its input: 0 the keyring
 * item's text (oauth2_tokens_parse, then formatted again), 1 a token or
 * device endpoint's JSON answer (oauth2_reply_parse, json-c), 2 the
 * browser's request to the loopback listener (oauth2_redirect_parse),
 * 3 a server's XOAUTH2/OAUTHBEARER error challenge
 * (oauth2_explain_challenge). */
#include "config.h"

#include "fuzz.h"

#include "lib.h"
#include "oauth2.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text;
	struct oauth2_tokens t;
	struct oauth2_reply r;
	struct oauth2_redirect rd;
	struct error e;
	struct buf out;

	if (size == 0)
		return 0;
	text = (const char *)data + 1;
	size--;
	switch (data[0] % 4) {
	case 0:
		if (oauth2_tokens_parse(text, size, &t) == 0) {
			free_secret(oauth2_tokens_format(&t));
			oauth2_tokens_free(&t);
		}
		break;
	case 1:
		if (oauth2_reply_parse(text, size, &r, &e) == 0)
			oauth2_reply_free(&r);
		break;
	case 2:
		if (oauth2_redirect_parse(text, size, &rd) == 0)
			oauth2_redirect_free(&rd);
		break;
	default:
		buf_init(&out, 0);
		oauth2_explain_challenge(text, size, &out);
		buf_free(&out);
		break;
	}
	return 0;
}
