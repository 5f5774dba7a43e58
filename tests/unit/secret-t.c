/* secret-t.c - tests for src/secret.c: passwordeval (exit status, output
 * length, newline handling), netrc parsing and its permission rule, the
 * order of the sources, secret_describe's lines, secret_read_new from
 * stdin, and the one-line error when nothing has the password.  Runs with
 * no D-Bus session, as under cron, so the keyring is always unavailable
 * here (tests/e2e/keyring.t covers a real keyring). */
#include "config.h"

#include "secret.h"

#include "lib.h"

#include "tap/basic.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/secret-t.XXXXXX";

static const struct {
	const char *cmd;
	int rc;
	const char *out;  /* when rc is 0 */
	const char *what; /* in the message when rc is -1 */
} evals[] = {
	{"printf pw", 0, "pw", NULL},
	{"printf 'pw\\n'", 0, "pw", NULL},
	{"printf 'pw\\r\\n'", 0, "pw", NULL},
	{"printf 'pw\\n\\n'", 0, "pw\n", NULL},
	{"printf ' p w '", 0, " p w ", NULL},
	{"printf ''", 0, "", NULL},
	{"cat", 0, "", NULL},
	{"echo to-stderr >&2; printf ok", 0, "ok", NULL},
	{"exit 1", -1, NULL, "exit status 1"},
	{"printf pw; exit 3", -1, NULL, "exit status 3"},
	{"kill -9 $$", -1, NULL, "signal 9"},
	{"printf 'a\\000b'", -1, NULL, "NUL"},
	{"yes", -1, NULL, "more than 1048576 bytes"},
	{"head -c 1048577 /dev/zero", -1, NULL, "more than 1048576 bytes"},
};

static void
test_eval(void)
{
	for (size_t i = 0; i < sizeof evals / sizeof evals[0]; i++) {
		struct error e = {0};
		char *out = NULL;
		int rc = secret_eval(evals[i].cmd, &out, &e);

		is_int(evals[i].rc, rc, "eval %s: status", evals[i].cmd);
		if (evals[i].rc == 0) {
			is_string(evals[i].out, out, "eval %s: output", evals[i].cmd);
		} else {
			is_int(ST_ACCOUNT, e.status, "eval %s: ST_ACCOUNT", evals[i].cmd);
			ok(strstr(e.msg, evals[i].what) != NULL, "eval %s: message says %s",
			   evals[i].cmd, evals[i].what);
		}
		free_secret(out);
	}
	{
		struct error e = {0};
		char *out = NULL;
		int rc = secret_eval("head -c 1048576 /dev/zero | tr '\\000' x", &out, &e);

		is_int(0, rc, "eval of exactly 1 MiB works");
		is_int(1048576, out ? (long)strlen(out) : -1, "all of it is returned");
		free_secret(out);
	}
}

/* Writes text to a new file in tmpdir with mode; returns its path. */
static char *
write_file(const char *name, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		bail("cannot write %s", path);
	if (chmod(path, mode) < 0)
		bail("cannot chmod %s", path);
	return path;
}

static const struct {
	const char *text;
	mode_t mode;
	const char *host;
	const char *want;     /* NULL: not found */
	const char *describe; /* after "password: PATH", when found */
} netrcs[] = {
	{"machine h login u password p\n", 0600, "h", "p", " machine h login u"},
	{"machine H login u password p\n", 0600, "h", "p", " machine h login u"},
	{"machine h.example login u password p\n", 0600, "H.EXAMPLE", "p",
	 " machine H.EXAMPLE login u"},
	{"machine h login other password p\n", 0600, "h", NULL, NULL},
	{"machine h login U password p\n", 0600, "h", NULL, NULL},
	{"machine h login other password p machine h login u password q\n", 0600, "h", "q",
	 " machine h login u"},
	{"machine h password p\n", 0600, "h", "p", " machine h"},
	{"machine x login u password p\ndefault login u password d\n", 0600, "h", "d",
	 " default entry"},
	{"default password d\nmachine h login u password p\n", 0600, "h", "p",
	 " machine h login u"},
	{"default login other password d\n", 0600, "h", NULL, NULL},
	{"machine h login u password \"a b\\\"c\\\\\"\n", 0600, "h", "a b\"c\\",
	 " machine h login u"},
	{"machine \"h\" login \"u\" password \"\"\n", 0600, "h", "", " machine h login u"},
	{"machine h login u password a\"b\n", 0600, "h", "a\"b", " machine h login u"},
	{"macdef init\nmachine h login u password bad\n\nmachine h login u password good\n", 0600,
	 "h", "good", " machine h login u"},
	{"# machine h login u password bad\nmachine h login u password good\n", 0600, "h", "good",
	 " machine h login u"},
	{"machine h login u account acct password p\n", 0600, "h", "p", " machine h login u"},
	{"machine\n h\n\tlogin u\r\npassword p", 0600, "h", "p", " machine h login u"},
	{"machine h login u\n", 0600, "h", NULL, NULL},
	{"machine h login u password", 0600, "h", NULL, NULL},
	{"machine other login u password p\n", 0600, "h", NULL, NULL},
	{"", 0600, "h", NULL, NULL},
	{"machine h login u password p\n", 0644, "h", NULL, NULL},
	{"machine h login u password p\n", 0660, "h", NULL, NULL},
	{"machine h login u password p\n", 0400, "h", "p", " machine h login u"},
};

static bool
contains(const char *haystack, const char *needle)
{
	return haystack != NULL && strstr(haystack, needle) != NULL;
}

static void
test_netrc(void)
{
	for (size_t i = 0; i < sizeof netrcs / sizeof netrcs[0]; i++) {
		char name[32];
		char *path;
		struct secret_source src = {.account = "acct", .user = "u"};
		struct error e = {0};
		struct buf d;
		char *pw = NULL;
		int rc;

		snprintf(name, sizeof name, "netrc-%zu", i);
		path = write_file(name, netrcs[i].text, netrcs[i].mode);
		src.host = netrcs[i].host;
		src.netrc = path;
		rc = secret_get_password(&src, &pw, &e);
		is_int(netrcs[i].want ? 0 : -1, rc, "netrc %zu: status", i);
		is_string(netrcs[i].want, pw, "netrc %zu: password", i);
		buf_init(&d, 4096);
		is_int(0, secret_describe(&src, &d, &e), "netrc %zu: describe", i);
		if (netrcs[i].want != NULL) {
			char *want = xasprintf("password: %s%s\n", path, netrcs[i].describe);

			is_string(want, d.data, "netrc %zu: described", i);
			free(want);
		} else {
			is_int(ST_ACCOUNT, e.status, "netrc %zu: ST_ACCOUNT", i);
			ok(contains(d.data, "password: not found: "), "netrc %zu: not found", i);
		}
		if (netrcs[i].want == NULL && (netrcs[i].mode & 077) != 0) {
			ok(contains(e.msg, "chmod 600") && contains(e.msg, path),
			   "netrc %zu: the error says why the netrc was not used", i);
			ok(contains(d.data, "chmod 600"), "netrc %zu: so does describe", i);
		}
		buf_free(&d);
		free_secret(pw);
		free(path);
	}
}

/* The netrc in $HOME when the source names none. */
static void
test_netrc_home(void)
{
	char *path = write_file(".netrc", "machine home.example login u password fromhome\n", 0600);
	struct secret_source src = {.account = "a", .host = "home.example", .user = "u"};
	struct error e = {0};
	struct buf d;
	char *pw = NULL;
	char *want = xasprintf("password: %s machine home.example login u\n", path);

	is_int(0, secret_get_password(&src, &pw, &e), "$HOME/.netrc is read by default");
	is_string("fromhome", pw, "$HOME/.netrc password");
	buf_init(&d, 4096);
	secret_describe(&src, &d, &e);
	is_string(want, d.data, "$HOME/.netrc described");
	buf_free(&d);
	free_secret(pw);
	free(want);
	unlink(path);
	free(path);
}

static const struct {
	const char *password;
	const char *eval;
	bool netrc;
	const char *want;
	const char *describe;
} orders[] = {
	{"c0nf", "printf 3val", true, "c0nf", "password: from the configuration file\n"},
	{"c0nf", "exit 1", false, "c0nf", "password: from the configuration file\n"},
	{"", "printf 3val", true, "", "password: from the configuration file\n"},
	{NULL, "printf 3val", true, "3val",
	 "password: from passwordeval (the command runs when needed)\n"},
	{NULL, "exit 4", true, NULL,
	 "password: from passwordeval (the command runs when needed)\n"},
	{NULL, NULL, true, "n3t", NULL},
};

static void
test_order(void)
{
	char *path = write_file("order-netrc", "machine h login u password n3t\n", 0600);

	for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
		struct secret_source src = {
			.account = "a",
			.host = "h",
			.user = "u",
			.password = orders[i].password,
			.passwordeval = orders[i].eval,
			.netrc = orders[i].netrc ? path : "/nonexistent/netrc",
		};
		struct error e = {0};
		struct buf d;
		char *pw = NULL;

		is_int(orders[i].want ? 0 : -1, secret_get_password(&src, &pw, &e),
		       "order %zu: status", i);
		is_string(orders[i].want, pw, "order %zu: password", i);
		if (orders[i].want == NULL)
			ok(contains(e.msg, "exit status 4"), "order %zu: eval failure wins", i);
		buf_init(&d, 4096);
		is_int(0, secret_describe(&src, &d, &e), "order %zu: describe", i);
		if (orders[i].describe != NULL)
			is_string(orders[i].describe, d.data, "order %zu: described", i);
		ok(orders[i].want == NULL || *orders[i].want == '\0' ||
			   !contains(d.data, orders[i].want),
		   "order %zu: describe does not print the password", i);
		buf_free(&d);
		free_secret(pw);
	}
	free(path);
}

/* Nothing has it: one line naming the account, the attributes, why the
 * keyring could not answer and both ways to store the password. */
static void
test_missing(void)
{
	static const char *const parts[] = {
		"account work:",
		"user bob at smtp.example",
		"no D-Bus session",
		"host=smtp.example service=smtp user=bob",
		"outbox -a work --store-password",
		"secret-tool store --label=outbox host smtp.example service smtp user bob",
	};
	struct secret_source src = {.account = "work",
				    .host = "smtp.example",
				    .user = "bob",
				    .netrc = "/nonexistent/netrc",
				    .prompt = true};
	struct error e = {0};
	struct buf d;
	char *pw = NULL;

	is_int(-1, secret_get_password(&src, &pw, &e), "no source: fails");
	is_int(ST_ACCOUNT, e.status, "no source: ST_ACCOUNT");
	ok(pw == NULL, "no source: no password");
	ok(strchr(e.msg, '\n') == NULL, "no source: one line");
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		ok(contains(e.msg, parts[i]), "no source: the message has '%s'", parts[i]);
	if (!contains(e.msg, parts[0]))
		diag("%s", e.msg);
	buf_init(&d, 4096);
	is_int(0, secret_describe(&src, &d, &e), "no source: describe works");
	ok(contains(d.data, "password: not found: keyring unavailable (no D-Bus session"),
	   "no source: described as not found, keyring unavailable");
	ok(contains(d.data, "store it with: outbox -a work --store-password\n"),
	   "no source: describe names the store command");
	ok(strchr(d.data, '\n') == d.data + d.len - 1, "no source: described in one line");
	buf_free(&d);

	src.user = NULL;
	is_int(-1, secret_get_password(&src, &pw, &e), "no user: fails");
	ok(contains(e.msg, "no host or user"), "no user: says so");
}

static void
test_keyring_without_bus(void)
{
	struct error e = {0};

	is_int(-1, secret_store("smtp.example", "bob", "pw", &e), "store without D-Bus fails");
	is_int(ST_ACCOUNT, e.status, "store without D-Bus: ST_ACCOUNT");
	ok(contains(e.msg, "no D-Bus session"), "store without D-Bus: says so");
	is_int(-1, secret_delete("smtp.example", "bob", &e), "delete without D-Bus fails");
	ok(contains(e.msg, "no D-Bus session"), "delete without D-Bus: says so");
	is_int(-1, secret_store("smtp.example", "", "pw", &e), "store without a user fails");
	is_int(ST_CONFIG, e.status, "store without a user: ST_CONFIG");
	is_int(-1, secret_store("smtp.example", "b\xff", "pw", &e), "store of a non-UTF-8 user");
	ok(contains(e.msg, "UTF-8"), "non-UTF-8 user: says so");
}

static const struct {
	const char *input;
	int rc;
	const char *want;
} new_passwords[] = {
	{"pw\n", 0, "pw"},   {"pw", 0, "pw"},
	{"pw\r\n", 0, "pw"}, {"two words\nsecond line\n", 0, "two words"},
	{"", -1, NULL},      {"\n", -1, NULL},
};

/* Puts text on stdin (a file: not a terminal) and reads it back. */
static int
read_new_from(const char *text, size_t len, char **out, struct error *e)
{
	char *path = xasprintf("%s/stdin", tmpdir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int rc;

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0 ||
	    dup2(fd, STDIN_FILENO) < 0)
		bail("cannot prepare stdin");
	close(fd);
	rc = secret_read_new("unused: ", out, e);
	unlink(path);
	free(path);
	return rc;
}

static void
test_read_new(void)
{
	struct error e = {0};
	char *pw = NULL;
	size_t big = 64 * 1024 + 1;
	char *text = xmalloc(big + 1);

	for (size_t i = 0; i < sizeof new_passwords / sizeof new_passwords[0]; i++) {
		pw = NULL;
		is_int(new_passwords[i].rc,
		       read_new_from(new_passwords[i].input, strlen(new_passwords[i].input), &pw,
				     &e),
		       "read_new %zu: status", i);
		is_string(new_passwords[i].want, pw, "read_new %zu: password", i);
		if (new_passwords[i].rc < 0)
			is_int(ST_DATAERR, e.status, "read_new %zu: ST_DATAERR", i);
		free_secret(pw);
	}
	memset(text, 'x', big);
	text[big] = '\n';
	pw = NULL;
	is_int(-1, read_new_from(text, big + 1, &pw, &e), "read_new: over 64 KiB is refused");
	ok(contains(e.msg, "longer than 65536"), "read_new: says how long it may be");
	is_int(0, read_new_from(text + 1, big, &pw, &e), "read_new: 64 KiB is fine");
	is_int((long)big - 1, pw ? (long)strlen(pw) : -1, "read_new: 64 KiB all read");
	free_secret(pw);
	free(text);
}

int
main(void)
{
	plan_lazy();
	if (mkdtemp(tmpdir) == NULL)
		bail("cannot create a temporary directory");
	/* As under cron: no session bus, no way for GLib to find or start one. */
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("DISPLAY");
	unsetenv("WAYLAND_DISPLAY");
	setenv("HOME", tmpdir, 1);
	test_eval();
	test_netrc();
	test_netrc_home();
	test_order();
	test_missing();
	test_keyring_without_bus();
	test_read_new();
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);

		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
		free(cmd);
	}
	return 0;
}
