/* netrc-t.c - tests for src/netrc.c's parser: netrc_find() over a table
 * of files (tokens, quotes, comments, macdef bodies, default entries,
 * logins, host case) and what it finds in each. */
#include "config.h"

#include "netrc.h"

#include "lib.h"

#include "tap/basic.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *text;
	const char *host, *user;
	const char *password; /* NULL: nothing found */
	const char *machine;  /* what the entry names, or NULL */
	const char *login;
} cases[] = {
	{"machine h login u password p\n", "h", "u", "p", "h", "u"},
	{"machine h login u password p", "H", "u", "p", "h", "u"},
	{"machine h login v password p\n", "h", "u", NULL, NULL, NULL},
	{"machine h password p\n", "h", "u", "p", "h", NULL},
	{"machine other password q\nmachine h login u password p\n", "h", "u", "p", "h", "u"},
	{"machine h login u\n", "h", "u", NULL, NULL, NULL},
	{"default login u password d\nmachine h login u password p\n", "h", "u", "p", "h", "u"},
	{"machine x password q\ndefault password d\n", "h", "u", "d", NULL, NULL},
	{"machine h login u password \"a b\\\"c\"\n", "h", "u", "a b\"c", "h", "u"},
	{"# machine h login u password c\nmachine h login u password p\n", "h", "u", "p", "h", "u"},
	{"macdef init\nmachine h login u password m\n\nmachine h login u password p\n", "h", "u",
	 "p", "h", "u"},
	{"machine h login u password p account a\n", "h", "u", "p", "h", "u"},
	{"machine h login u password", "h", "u", NULL, NULL, NULL},
	{"", "h", "u", NULL, NULL, NULL},
	{"password p\n", "h", "u", NULL, NULL, NULL},
	{"machine h login u password p machine h login u password second\n", "h", "u", "p", "h",
	 "u"},
};

int
main(void)
{
	plan_lazy();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = xstrdup(cases[i].text);
		struct netrc_entry en;
		bool found = netrc_find(text, strlen(text), cases[i].host, cases[i].user, &en);

		is_int(cases[i].password != NULL, found, "netrc %zu: found", i);
		if (found && cases[i].password != NULL) {
			is_string(cases[i].password, en.password, "netrc %zu: password", i);
			is_string(cases[i].machine, en.machine, "netrc %zu: machine", i);
			is_string(cases[i].login, en.login, "netrc %zu: login", i);
		}
		free(text);
	}
	return 0;
}
