/* admin-t.c - tests for src/admin.c with a -C file in a private
 * directory, HOME there too, and no D-Bus session: --pretend (the account
 * and its settings, secrets masked), --password-source for each source
 * (password, passwordeval without running it, ~/.netrc, none), the
 * keyring commands refusing an account without a user, and --serverinfo
 * against a closed 127.0.0.1 port (ST_CONNECT). */
#include "config.h"

#include "admin.h"

#include "tap/basic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXARGS 16

static char *dir;
static int port;
static unsigned nconfs;

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || chmod(path, 0600) < 0)
		bail("cannot write %s: %s", path, strerror(errno));
}

/* A -C file: the account default on the closed port, with extra lines. */
static char *
make_conf(const char *extra)
{
	char *path = xasprintf("%s/conf%u", dir, nconfs++);
	char *text = xasprintf("account default\nhost 127.0.0.1\nport %d\ntimeout 1\ntls off\n"
			       "from me@example.org\n%s",
			       port, extra);

	write_file(path, text);
	free(text);
	return path;
}

/* Runs fn for "outbox -C CONF flags" and returns its output (NULL on
 * failure, e set). */
static char *
run(int (*fn)(const struct request *, struct buf *, struct error *), const char *extra,
    const char *flags, struct error *e)
{
	char *conf = make_conf(extra);
	char *line = xasprintf("outbox -C %s %s", conf, flags);
	char *copy = xstrdup(line), *save = NULL, *text = NULL;
	char *argv[MAXARGS];
	struct request r;
	struct buf out;
	int argc = 0;

	for (char *w = strtok_r(copy, " ", &save); w != NULL && argc < MAXARGS - 1;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	if (cli_parse(argc, argv, &r, e) < 0)
		bail("cli_parse %s: %s", line, e->msg);
	buf_init(&out, 0);
	error_clear(e);
	if (fn(&r, &out, e) == 0)
		text = xstrdup(out.data != NULL ? out.data : "");
	else
		diag("%s: %s", flags, e->msg);
	buf_free(&out);
	cli_request_free(&r);
	free(copy);
	free(line);
	free(conf);
	return text;
}

static bool
contains(const char *haystack, const char *needle)
{
	return haystack != NULL && strstr(haystack, needle) != NULL;
}

static void
test_pretend(void)
{
	struct error e;
	char *out = run(admin_pretend, "user bob\npassword s3cr3t-word\n", "--pretend", &e);

	ok(out != NULL, "--pretend succeeds");
	ok(contains(out, "account: default\n"), "it names the account");
	ok(contains(out, "127.0.0.1"), "it shows the host");
	ok(contains(out, "bob"), "it shows the user");
	ok(contains(out, "********"), "the password is masked");
	ok(!contains(out, "s3cr3t-word"), "the password itself is not shown");
	free(out);

	out = run(admin_pretend, "", "-a nosuch --pretend", &e);
	ok(out == NULL, "--pretend with an unknown account fails");
	is_int(ST_CONFIG, e.status, "ST_CONFIG");
	ok(contains(e.msg, "nosuch"), "naming it: %s", e.msg);
	free(out);
}

struct source_case {
	const char *name;
	const char *extra;    /* configuration lines */
	const char *expected; /* a part of the output */
	const char *hidden;   /* must not appear, or NULL */
};

static void
test_password_source(void)
{
	char *marker = xasprintf("%s/eval-ran", dir);
	char *eval = xasprintf("user bob\npasswordeval touch %s\n", marker);
	char *netrc = xasprintf("%s/.netrc", dir);
	char *netrc_line = xasprintf("password: %s machine 127.0.0.1 login bob", netrc);
	const struct source_case cases[] = {
		{"password", "user bob\npassword s3cr3t-word\n",
		 "password: from the configuration file", "s3cr3t-word"},
		{"passwordeval", eval, "password: from passwordeval", NULL},
		{"netrc", "user bob\n", netrc_line, "netrc-word"},
		/* "asked on the terminal" when there is one, else "not found" */
		{"netrc, other user", "user carol\n", "--store-password", "netrc-word"},
	};
	struct error e;

	write_file(netrc, "machine 127.0.0.1 login bob password netrc-word\n");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out = run(admin_password_source, cases[i].extra, "--password-source", &e);

		ok(out != NULL, "%s: --password-source succeeds", cases[i].name);
		ok(contains(out, "account: default\n"), "%s: names the account", cases[i].name);
		ok(contains(out, cases[i].expected), "%s: says %s", cases[i].name,
		   cases[i].expected);
		if (cases[i].hidden != NULL)
			ok(!contains(out, cases[i].hidden), "%s: the password is not shown",
			   cases[i].name);
		if (out != NULL && !contains(out, cases[i].expected))
			diag("%s", out);
		if (contains(out, "not found"))
			ok(contains(out, "no D-Bus session"), "%s: the keyring's reason is given",
			   cases[i].name);
		free(out);
	}
	ok(access(marker, F_OK) != 0, "passwordeval's command is not run");
	free(netrc_line);
	free(netrc);
	free(eval);
	free(marker);
}

static void
test_keyring_needs_user(void)
{
	struct error e;
	char *out = run(admin_delete_password, "", "--delete-password", &e);

	ok(out == NULL, "--delete-password without a user fails");
	is_int(ST_CONFIG, e.status, "ST_CONFIG");
	ok(contains(e.msg, "no user"), "saying so: %s", e.msg);
	free(out);
	out = run(admin_store_password, "", "--store-password", &e);
	ok(out == NULL, "--store-password without a user fails before asking");
	is_int(ST_CONFIG, e.status, "ST_CONFIG");
	free(out);
}

static void
test_serverinfo(void)
{
	struct error e;
	char *out = run(admin_serverinfo, "", "--serverinfo", &e);
	char port_text[16];

	snprintf(port_text, sizeof port_text, "%d", port);
	ok(out == NULL, "--serverinfo with the server down fails");
	is_int(ST_CONNECT, e.status, "ST_CONNECT");
	ok(contains(e.msg, port_text), "naming the port: %s", e.msg);
	free(out);
}

int
main(void)
{
	plan_lazy();
	dir = test_tmpdir("admin");
	setenv("HOME", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	setenv("XDG_RUNTIME_DIR", dir, 1);
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	port = test_closed_port();
	test_pretend();
	test_password_source();
	test_keyring_needs_user();
	test_serverinfo();
	test_tmpdir_free(dir);
	return 0;
}
