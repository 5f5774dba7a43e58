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
	is_int(-1, error_set(&e, ST_CONFIG, "bad %s", "thing"), "error_set returns -1");
	is_string("bad thing", e.msg, "error_set formats");
	error_prefix(&e, "file:%d", 3);
	is_string("file:3: bad thing", e.msg, "error_prefix prepends");
	is_int(ST_CONFIG, e.status, "error_prefix keeps the class");
	return 0;
}
