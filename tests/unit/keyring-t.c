/* keyring-t.c - tests for src/keyring.c without a keyring: the one-line
 * reason for each keyring state (keyring_explain), and lookups, stores and
 * deletes with no D-Bus session (DBUS_SESSION_BUS_ADDRESS unset, no bus
 * in XDG_RUNTIME_DIR, no DISPLAY to autolaunch one) or with a bus address
 * nobody listens on: each fails at once with its reason, and a SIGALRM
 * ends the test should anything hang. */
#include "config.h"

#include "secret_lookup.h"

#include "net.h"
#include "tap/basic.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whatever happens, the program ends within this many seconds. */
#define HANG_LIMIT_S 20
/* A lookup without a bus takes less than this. */
#define FAST_MS 2000

static char *dir;

static void
on_alarm(int sig)
{
	static const char msg[] = "Bail out! the keyring hung\n";

	(void)sig;
	if (write(1, msg, sizeof msg - 1) < 0)
		_exit(255);
	_exit(255);
}

static void
test_explain(void)
{
	static const struct {
		enum keyring_state state;
		const char *why;
		const char *expected;
	} cases[] = {
		{KR_NOT_FOUND, NULL,
		 "no keyring item host=h.example service=smtp user=bob (nor server=h.example "
		 "protocol=smtp user=bob)"},
		{KR_LOCKED, NULL,
		 "the keyring is locked, so item host=h.example service=smtp user=bob cannot be "
		 "read; unlock it"},
		{KR_NO_BUS, NULL,
		 "keyring unavailable (no D-Bus session: DBUS_SESSION_BUS_ADDRESS is not set, as "
		 "under cron) for host=h.example service=smtp user=bob"},
		{KR_UNREACHABLE, "connection refused",
		 "keyring unavailable (connection refused) for host=h.example service=smtp "
		 "user=bob"},
		{KR_UNREACHABLE, NULL,
		 "keyring unavailable (?) for host=h.example service=smtp user=bob"},
		{KR_TIMEOUT, NULL,
		 "the keyring did not answer within 5 s for host=h.example service=smtp user=bob"},
		{KR_NOT_UTF8, NULL,
		 "the keyring cannot hold host h.example or user bob: not UTF-8"},
		{KR_NOT_ASKED, NULL, "the account has no host or user to look up"},
		{KR_FOUND, NULL, ""},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct buf b;

		buf_init(&b, 0);
		keyring_explain(&b, cases[i].state, cases[i].why, 5, "h.example", "bob");
		is_string(cases[i].expected, b.data != NULL ? b.data : "", "keyring state %d",
			  (int)cases[i].state);
		buf_free(&b);
	}
}

static void
free_lookup(struct secret_lookup *lk)
{
	free(lk->password);
	free(lk->keyring_why);
	free(lk->netrc_path);
	free(lk->netrc_why);
}

/* A lookup of host and user; its state, within FAST_MS. */
static enum keyring_state
lookup(const char *host, const char *user, bool fetch, char **why)
{
	struct secret_source src = {.account = "default", .host = host, .user = user};
	struct secret_lookup lk;
	enum keyring_state state;
	int64_t start = net_deadline(0);

	memset(&lk, 0, sizeof lk);
	keyring_lookup(&src, fetch, &lk);
	ok(net_deadline(0) - start < FAST_MS, "the lookup took %lld ms",
	   (long long)(net_deadline(0) - start));
	ok(lk.origin == FROM_NONE && lk.password == NULL, "nothing found");
	*why = lk.keyring_why != NULL ? xstrdup(lk.keyring_why) : NULL;
	state = lk.keyring;
	free_lookup(&lk);
	return state;
}

static void
test_no_bus(void)
{
	struct error e;
	char *why;
	int64_t start;

	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	is_int(KR_NO_BUS, lookup("h.example", "bob", true, &why), "no D-Bus session: KR_NO_BUS");
	free(why);
	is_int(KR_NO_BUS, lookup("h.example", "bob", false, &why),
	       "no D-Bus session, describing only: KR_NO_BUS");
	free(why);
	is_int(KR_NOT_UTF8, lookup("h\xff.example", "bob", true, &why),
	       "a host that is not UTF-8 is never looked up");
	free(why);

	start = net_deadline(0);
	is_int(-1, secret_store("h.example", "bob", "pw", &e), "secret_store fails");
	is_int(ST_ACCOUNT, e.status, "secret_store: ST_ACCOUNT");
	ok(strstr(e.msg, "no D-Bus session") != NULL, "secret_store: %s", e.msg);
	is_int(-1, secret_delete("h.example", "bob", &e), "secret_delete fails");
	is_int(ST_ACCOUNT, e.status, "secret_delete: ST_ACCOUNT");
	ok(strstr(e.msg, "no D-Bus session") != NULL, "secret_delete: %s", e.msg);
	ok(net_deadline(0) - start < 2 * FAST_MS, "store and delete fail fast");
}

static void
test_bus_nobody_listens(void)
{
	char *address = xasprintf("unix:path=%s/no-bus", dir);
	char *why = NULL;

	setenv("DBUS_SESSION_BUS_ADDRESS", address, 1);
	is_int(KR_UNREACHABLE, lookup("h.example", "bob", true, &why),
	       "a bus address nobody listens on: KR_UNREACHABLE");
	ok(why != NULL && *why != '\0', "with GLib's reason: %s", why != NULL ? why : "(none)");
	free(why);
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	free(address);
}

int
main(void)
{
	plan_lazy();
	signal(SIGALRM, on_alarm);
	alarm(HANG_LIMIT_S);
	dir = test_tmpdir("keyring");
	setenv("XDG_RUNTIME_DIR", dir, 1);
	unsetenv("DISPLAY");
	test_explain();
	test_no_bus();
	test_bus_nobody_listens();
	test_tmpdir_free(dir);
	return 0;
}
