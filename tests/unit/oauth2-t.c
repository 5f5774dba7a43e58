/* oauth2-t.c - tests for src/oauth2.c's pure part: the keyring item's
 * text (oauth2_tokens_parse and _format). */
#include "config.h"

#include "oauth2.h"

#include "lib.h"

#include "tap/basic.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *text;
	int rc;
	const char *refresh, *access;
	long long expires_at;
} items[] = {
	{"refresh_token rt\naccess_token at\nexpires_at 1767225600\n", 0, "rt", "at", 1767225600},
	{"refresh_token rt\n\naccess_token at\nexpires_at 5\n\n", 0, "rt", "at", 5},
	{"refresh_token rt\nfuture_key x\n", 0, "rt", NULL, 0},
	{"refresh_token r t\n", -1, NULL, NULL, 0},
	{"refresh_token rt\x01\n", -1, NULL, NULL, 0},
	{"refresh_token\n", -1, NULL, NULL, 0},
	{"expires_at -1\n", -1, NULL, NULL, 0},
	{"expires_at soon\n", -1, NULL, NULL, 0},
};

static void
test_items(void)
{
	for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
		struct oauth2_tokens t;
		int rc = oauth2_tokens_parse(items[i].text, strlen(items[i].text), &t);

		is_int(items[i].rc, rc, "item %zu parses as expected", i);
		if (rc < 0)
			continue;
		is_string(items[i].refresh, t.refresh_token, "... refresh token");
		is_string(items[i].access, t.access_token, "... access token");
		ok(t.expires_at == items[i].expires_at, "... expiry");
		if (items[i].access != NULL) {
			char *again = oauth2_tokens_format(&t);
			struct oauth2_tokens u;

			ok(oauth2_tokens_parse(again, strlen(again), &u) == 0 &&
				   strcmp(u.access_token, t.access_token) == 0 &&
				   u.expires_at == t.expires_at,
			   "... formats and parses back");
			oauth2_tokens_free(&u);
			free(again);
		}
		oauth2_tokens_free(&t);
	}
}

int
main(void)
{
	plan_lazy();
	test_items();
	return 0;
}
