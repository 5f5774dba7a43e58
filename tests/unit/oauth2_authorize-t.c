/* oauth2_authorize-t.c - tests for src/oauth2_authorize.c: the
 * browser's redirect request to the loopback listener
 * (oauth2_redirect_parse). */
#include "config.h"

#include "oauth2.h"

#include "lib.h"

#include "tap/basic.h"

#include <stdlib.h>
#include <string.h>

static void
test_redirects(void)
{
	static const char req[] =
		"GET /?state=s1&code=4%2F0A+b&scope=x HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char err[] = "GET /?error=access_denied&state=s1 HTTP/1.1\r\n\r\n";
	struct oauth2_redirect rd;

	is_int(0, oauth2_redirect_parse(req, strlen(req), &rd), "redirect parses");
	is_string("4/0A b", rd.code, "... code decoded");
	is_string("s1", rd.state, "... state");
	oauth2_redirect_free(&rd);
	is_int(0, oauth2_redirect_parse(err, strlen(err), &rd), "error redirect parses");
	is_string("access_denied", rd.error, "... error");
	ok(rd.code == NULL, "... no code");
	oauth2_redirect_free(&rd);
	is_int(-1, oauth2_redirect_parse("POST / HTTP/1.1\r\n", 17, &rd), "POST refused");
	is_int(-1, oauth2_redirect_parse("GET /?code=%0a HTTP/1.1\r\n", 25, &rd),
	       "a control character refused");
	is_int(-1, oauth2_redirect_parse("GET /?code=%4 HTTP/1.1\r\n", 24, &rd),
	       "a short escape refused");
}

int
main(void)
{
	plan_lazy();
	test_redirects();
	return 0;
}
