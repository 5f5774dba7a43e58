/* status-t.c - tests for src/status.c: the exit status of every failure
 * class (the contract of DESIGN.md 1.4). */
#include "config.h"

#include "status.h"

#include "tap/basic.h"

#include <string.h>
#include <sysexits.h>

static const struct {
	enum status status;
	int exit_code;
	bool temporary;
} table[] = {
	{ST_OK, EX_OK, false},
	{ST_USAGE, EX_USAGE, false},
	{ST_DATAERR, EX_DATAERR, false},
	{ST_NOUSER, EX_NOUSER, false},
	{ST_MESSAGE_PERM, EX_UNAVAILABLE, false},
	{ST_SOFTWARE, EX_SOFTWARE, false},
	{ST_OSERR, EX_OSERR, false},
	{ST_CANTCREAT, EX_CANTCREAT, false},
	{ST_IOERR, EX_IOERR, false},
	{ST_CONNECT, EX_TEMPFAIL, true},
	{ST_SERVER_TEMP, EX_TEMPFAIL, true},
	{ST_LOCAL_TEMP, EX_TEMPFAIL, true},
	{ST_ACCOUNT, EX_NOPERM, false},
	{ST_CONFIG, EX_CONFIG, false},
};

int
main(void)
{
	struct error e;

	plan_lazy();
	is_int(ST__COUNT, sizeof table / sizeof table[0], "every class is in the test table");
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		is_int(table[i].exit_code, status_exit_code(table[i].status), "exit code of %s",
		       status_name(table[i].status));
		is_int(table[i].temporary, status_is_temporary(table[i].status),
		       "temporary flag of %s", status_name(table[i].status));
	}
	is_int(EX_SOFTWARE, status_exit_code(ST__COUNT), "out of range is EX_SOFTWARE");
	/* Reason codes: each parses back to itself, none repeats, and every
	 * class that stops a message has one. */
	ok(reason_code(REASON_NONE) == NULL, "no reason has no code");
	for (int r = REASON_OTHER; r < REASON__COUNT; r++) {
		const char *code = reason_code((enum reason)r);

		ok(code != NULL && strspn(code, "abcdefghijklmnopqrstuvwxyz-") == strlen(code),
		   "reason %d has a lower-case code: %s", r, code != NULL ? code : "(none)");
		is_int(r, reason_parse(code), "%s parses back", code);
		ok(reason_text((enum reason)r) != NULL, "%s has a sentence", code);
	}
	is_int(REASON_OTHER, reason_parse("no-such-code"), "an unknown code is other");
	for (size_t i = 1; i < sizeof table / sizeof table[0]; i++)
		ok(failure_class(table[i].status)->reason != REASON_NONE, "%s has a reason code",
		   status_name(table[i].status));
	is_string("connect-failed", reason_code(failure_class(ST_CONNECT)->reason),
		  "connectivity is connect-failed");
	is_string("en", reason_language(), "without a catalog the language is en");
	is_string("the server could not be reached", reason_shown(REASON_CONNECT, "Fehler", NULL),
		  "a coded detail without a language tag is not shown");
	is_string("the server could not be reached", reason_shown(REASON_CONNECT, "Fehler", "de"),
		  "a detail in another language is not shown: the code's sentence is");
	is_string("refused", reason_shown(REASON_CONNECT, "refused", "en"),
		  "a detail in the language in use is shown");
	is_string("alt", reason_shown(REASON_NONE, "alt", "de"), "an old free-text reason as-is");
	ok(reason_shown(REASON_NONE, NULL, NULL) == NULL, "no reason, nothing shown");
	is_int(-1, error_set(&e, ST_CONFIG, "bad %s", "thing"), "error_set returns -1");
	is_string("bad thing", e.msg, "error_set formats");
	error_prefix(&e, "file:%d", 3);
	is_string("file:3: bad thing", e.msg, "error_prefix prepends");
	is_int(ST_CONFIG, e.status, "error_prefix keeps the class");
	return 0;
}
