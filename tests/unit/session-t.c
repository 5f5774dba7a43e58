/* session-t.c - tests for src/session.c, with requests made by cli_parse()
 * from command lines and a configuration file written into a private
 * directory (-C): loading, picking the account (-a, the from globs, the
 * default, command-line settings applied and checked, --host's "command
 * line" account), the one-off settings and their refusal, unsupported
 * account settings, the -bs size limit, and opening the account's queue. */
#include "config.h"

#include "session.h"

#include "tap/basic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXARGS 16

static char *dir;           /* the test's private directory */
static char *conf;          /* dir/config */
static struct strlist args; /* argv strings: requests point into them */

static const char config_text[] = "defaults\n"
				  "tls off\n"
				  "account work\n"
				  "host smtp.work.example\n"
				  "from jane@work.example\n"
				  "port 2525\n"
				  "queue_dir DIR/q-work\n"
				  "account lists : work\n"
				  "host lists.example\n"
				  "from *@lists.example.org\n"
				  "queue_dir DIR/not-a-dir\n"
				  "account nohost\n"
				  "from nohost@example.org\n"
				  "account proxied : work\n"
				  "proxy_host 127.0.0.1\n"
				  "account lmtp : work\n"
				  "protocol lmtp\n"
				  "account default : work\n"
				  "host default.example\n"
				  "max_message_size 10M\n";

static bool
contains(const char *haystack, const char *needle)
{
	return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* A request from a command line split at spaces; "CONF" stands for the
 * configuration file, "DIR" for the private directory. */
static int
parse(const char *line, struct request *r, struct error *e)
{
	char *copy = xstrdup(line), *save = NULL;
	char *argv[MAXARGS];
	int argc = 0;

	for (char *w = strtok_r(copy, " ", &save); w != NULL && argc < MAXARGS - 1;
	     w = strtok_r(NULL, " ", &save)) {
		if (strcmp(w, "CONF") == 0)
			strlist_add(&args, conf);
		else if (strncmp(w, "DIR", 3) == 0)
			strlist_add_owned(&args, xasprintf("%s%s", dir, w + 3));
		else
			strlist_add(&args, w);
		argv[argc++] = args.v[args.n - 1];
	}
	argv[argc] = NULL;
	free(copy);
	error_clear(e);
	return cli_parse(argc, argv, r, e);
}

static void
parse_or_bail(const char *line, struct request *r)
{
	struct error e;

	if (parse(line, r, &e) < 0)
		bail("cli_parse %s: %s", line, e.msg);
}

/* Writes DIR/name, with "DIR" in text replaced by the directory. */
static void
write_config(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct buf b;
	int fd;

	buf_init(&b, 0);
	for (const char *p = text; *p != '\0'; p++) {
		if (strncmp(p, "DIR", 3) == 0) {
			buf_puts(&b, dir);
			p += 2;
		} else {
			buf_append(&b, p, 1);
		}
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, b.data, b.len) < 0 || close(fd) < 0)
		bail("cannot write %s: %s", path, strerror(errno));
	buf_free(&b);
	free(path);
}

static void
test_open(void)
{
	static const struct {
		const char *line;
		enum status status; /* ST_OK: opens */
		const char *message;
	} cases[] = {
		{"outbox -C CONF", ST_OK, NULL},
		{"outbox -C DIR/missing", ST_CONFIG, "/missing"},
		{"outbox -C DIR/broken", ST_CONFIG, "/broken:2: unknown keyword 'hots'"},
		{"outbox --host=mx.example -C DIR/missing", ST_OK, NULL},
	};

	write_config("broken", "account a\nhots x\n");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct request r;
		struct session s;
		struct error e;
		int rc;

		parse_or_bail(cases[i].line, &r);
		rc = session_open(&s, &r, &e);
		if (cases[i].status == ST_OK)
			is_int(0, rc, "open: %s (%s)", cases[i].line, rc < 0 ? e.msg : "");
		else
			ok(rc < 0 && e.status == cases[i].status &&
				   contains(e.msg, cases[i].message),
			   "open fails: %s: %s", cases[i].line, e.msg);
		session_close(&s);
		ok(s.conf == NULL && s.account == NULL, "... session_close clears the session");
		session_close(&s);
		cli_request_free(&r);
	}
}

/* Which account a command line and an envelope sender pick, and what it
 * then holds. */
static const struct {
	const char *line;
	const char *from;
	const char *account; /* NULL: an error */
	const char *host;    /* or a piece of the error */
	const char *port;
	const char *port_source;
} picks[] = {
	{"outbox -C CONF -a work", NULL, "work", "smtp.work.example", "2525", NULL},
	{"outbox -C CONF -a lists", "jane@work.example", "lists", "lists.example", "2525", NULL},
	{"outbox -C CONF", "jane@work.example", "work", "smtp.work.example", "2525", NULL},
	{"outbox -C CONF", "JANE@WORK.EXAMPLE", "work", "smtp.work.example", "2525", NULL},
	{"outbox -C CONF", "x@lists.example.org", "lists", "lists.example", "2525", NULL},
	{"outbox -C CONF", "someone@else.example", "default", "default.example", "2525", NULL},
	{"outbox -C CONF", NULL, "default", "default.example", "2525", NULL},
	{"outbox -C CONF", "", "default", "default.example", "2525", NULL},
	{"outbox -C CONF -a work --port=2626", NULL, "work", "smtp.work.example", "2626",
	 "command line"},
	{"outbox -C CONF --port 2627 --tls", "x@lists.example.org", "lists", "lists.example",
	 "2627", "command line"},
	{"outbox --host=mx.example", NULL, "command line", "mx.example", "587", NULL},
	{"outbox --host=mx.example --port=2500 --tls=off", NULL, "command line", "mx.example",
	 "2500", "command line"},
	{"outbox --host=mx.example --from=me@x.example", "me@x.example", "command line",
	 "mx.example", "587", NULL},
	{"outbox -C CONF -a nosuch", NULL, NULL, "nosuch", NULL, NULL},
	{"outbox -C CONF -a nohost", NULL, NULL, "nohost", NULL, NULL},
	{"outbox -C CONF -a work --port=0", NULL, NULL, "port", NULL, NULL},
	{"outbox -C CONF -a work --tls=maybe", NULL, NULL, "tls", NULL, NULL},
	{"outbox -C CONF -a work --tls-cert-file=/c.pem", NULL, NULL, "together", NULL, NULL},
	{"outbox --host=mx.example --protocol=lmtp", NULL, NULL, "port", NULL, NULL},
};

static void
test_pick(void)
{
	for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++) {
		struct request r;
		struct session s;
		struct error e;
		int rc;

		parse_or_bail(picks[i].line, &r);
		if (session_open(&s, &r, &e) < 0)
			bail("session_open %s: %s", picks[i].line, e.msg);
		rc = session_pick_account(&s, picks[i].from, &e);
		if (picks[i].account == NULL) {
			ok(rc < 0 && e.status == ST_CONFIG && contains(e.msg, picks[i].host),
			   "%s: refused with '%s': %s", picks[i].line, picks[i].host, e.msg);
		} else if (is_int(0, rc, "%s -f %s: picks (%s)", picks[i].line,
				  picks[i].from ? picks[i].from : "-", rc < 0 ? e.msg : "")) {
			is_string(picks[i].account, s.account->name, "... account");
			is_string(picks[i].host, account_get(s.account, KW_HOST), "... host");
			is_string(picks[i].port, account_get(s.account, KW_PORT), "... port");
			if (picks[i].port_source != NULL)
				is_string(picks[i].port_source, s.account->source[KW_PORT],
					  "... the port says where it came from");
		}
		session_close(&s);
		cli_request_free(&r);
	}
}

/* --host: the configuration file is not read, and picking twice finds
 * the same account. */
static void
test_host_account(void)
{
	struct request r;
	struct session s;
	struct error e;
	struct account *first;

	parse_or_bail("outbox -C CONF --host=mx.example --user=bob", &r);
	is_int(0, session_open(&s, &r, &e), "--host with -C: opens");
	ok(conf_find_account(s.conf, "work") == NULL, "... without reading the file");
	is_int(0, session_pick_account(&s, NULL, &e), "... picks");
	first = s.account;
	is_int(0, session_pick_account(&s, NULL, &e), "... picks again");
	ok(s.account == first, "... the same command-line account");
	is_string("bob", account_get(s.account, KW_USER), "... with the settings applied");
	session_close(&s);
	cli_request_free(&r);
}

/* The setting that makes a submission a one-off, named as typed, and its
 * refusal. */
static const struct {
	const char *line;
	const char *one_off; /* NULL: none */
} one_offs[] = {
	{"outbox a@x", NULL},
	{"outbox -C CONF -a work a@x", NULL},
	{"outbox --from=me@x a@x", NULL},
	{"outbox --timeout=5 a@x", NULL},
	{"outbox --max-message-size=1M a@x", NULL},
	{"outbox --logfile=/tmp/x --syslog a@x", NULL},
	{"outbox --queue=off --delivery-mode=queue a@x", NULL},
	{"outbox --dsn-notify=failure --from-full-name=J a@x", NULL},
	{"outbox --set-date-header=off --remove-bcc-headers=off a@x", NULL},
	{"outbox -X /tmp/log a@x", NULL},
	{"outbox --host=mx.example a@x", "host"},
	{"outbox --port=2525 a@x", "port"},
	{"outbox --tls=off a@x", "tls"},
	{"outbox --tls-starttls=off a@x", "tls-starttls"},
	{"outbox --tls-certcheck=off a@x", "tls-certcheck"},
	{"outbox --tls-trust-file=/x a@x", "tls-trust-file"},
	{"outbox --tls-fingerprint=AA a@x", "tls-fingerprint"},
	{"outbox --auth=plain a@x", "auth"},
	{"outbox --user=bob a@x", "user"},
	{"outbox --passwordeval=true a@x", "passwordeval"},
	{"outbox --domain=me.example a@x", "domain"},
	{"outbox --source-ip=192.0.2.1 a@x", "source-ip"},
	{"outbox --socket=/run/smtp a@x", "socket"},
	{"outbox --proxy-host=p a@x", "proxy-host"},
	{"outbox --allow-plaintext-auth a@x", "allow-plaintext-auth"},
	{"outbox --from=me@x --port=26 a@x", "port"},
	{"outbox --port=26 --host=mx a@x", "host"},
};

static void
test_one_off(void)
{
	for (size_t i = 0; i < sizeof one_offs / sizeof one_offs[0]; i++) {
		struct request r;
		struct error e;
		int rc;

		parse_or_bail(one_offs[i].line, &r);
		is_string(one_offs[i].one_off, session_one_off(&r), "one-off: %s",
			  one_offs[i].line);
		error_clear(&e);
		rc = session_refuse_one_off(&r, &e);
		if (one_offs[i].one_off == NULL) {
			is_int(0, rc, "... not refused");
		} else {
			char *flag =
				xasprintf("--%s is a setting for one message", one_offs[i].one_off);

			ok(rc < 0 && e.status == ST_USAGE && contains(e.msg, flag),
			   "... refused naming it: %s", e.msg);
			free(flag);
		}
		cli_request_free(&r);
	}
}

/* Every keyword given on the command line is a one-off exactly when the
 * table marks it a connection setting, and is named as the option. */
static void
test_one_off_table(void)
{
	for (int k = 0; k < KW__COUNT; k++) {
		struct request r;
		struct error e;
		char *line, *p;

		if (conf_keywords[k].secret || k == KW_EVAL)
			continue;
		line = xasprintf("outbox --%s=1 a@x", conf_keywords[k].name);
		for (p = line + 9; *p != '='; p++)
			if (*p == '_')
				*p = '-';
		if (parse(line, &r, &e) < 0) {
			ok(false, "%s parses: %s", line, e.msg);
			free(line);
			continue;
		}
		*p = '\0'; /* the option as typed, without "--" */
		is_string(conf_keywords[k].connection ? line + 9 : NULL, session_one_off(&r),
			  "--%s is %sa one-off", line + 9,
			  conf_keywords[k].connection ? "" : "not ");
		cli_request_free(&r);
		free(line);
	}
}

static void
test_supported(void)
{
	static const struct {
		const char *account;
		const char *message; /* NULL: supported */
	} cases[] = {
		{"work", NULL},
		{"default", NULL},
		{"proxied", NULL},
		{"lmtp", "protocol lmtp is not supported"},
	};
	struct request r;
	struct session s;
	struct error e;

	parse_or_bail("outbox -C CONF", &r);
	if (session_open(&s, &r, &e) < 0)
		bail("session_open: %s", e.msg);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct account *a = conf_find_account(s.conf, cases[i].account);
		int rc;

		error_clear(&e);
		rc = a != NULL ? session_check_supported(a, &e) : -2;
		if (cases[i].message == NULL)
			is_int(0, rc, "account %s is supported", cases[i].account);
		else
			ok(rc == -1 && e.status == ST_CONFIG && contains(e.msg, cases[i].message) &&
				   contains(e.msg, cases[i].account),
			   "account %s is refused: %s", cases[i].account, e.msg);
	}
	session_close(&s);
	cli_request_free(&r);
}

static void
test_size_limit(void)
{
	static const struct {
		const char *line;
		unsigned long long limit;
	} cases[] = {
		{"outbox -bs -C CONF", 10ULL * 1024 * 1024},
		{"outbox -bs -C CONF -a work", SESSION_MESSAGE_MAX},
		{"outbox -bs -C CONF -a work --max-message-size=2k", 2048},
		{"outbox -bs -C CONF --max-message-size=1G", 1024ULL * 1024 * 1024},
		{"outbox -bs -C CONF --max-message-size=bogus", 10ULL * 1024 * 1024},
		{"outbox -bs -C CONF --port=2 --max-message-size=3k", 3072},
		{"outbox -bs -C CONF -a nosuch", SESSION_MESSAGE_MAX},
		{"outbox -bs -C DIR/missing", SESSION_MESSAGE_MAX},
		{"outbox -bs --host=mx.example", SESSION_MESSAGE_MAX},
		{"outbox -bs --host=mx.example --max-message-size=5k", 5120},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct request r;

		parse_or_bail(cases[i].line, &r);
		is_int((long)cases[i].limit, (long)session_size_limit(&r), "size limit: %s",
		       cases[i].line);
		cli_request_free(&r);
	}
}

static bool
is_queue_dir(const char *path)
{
	char *msg = xasprintf("%s/msg", path);
	struct stat st;
	bool yes = stat(msg, &st) == 0 && S_ISDIR(st.st_mode);

	free(msg);
	return yes;
}

static void
test_open_queue(void)
{
	struct request r;
	struct session s;
	struct queue q = {.dirfd = -1, .lock_fd = -1};
	struct error e;
	char *want = xasprintf("%s/q-work", dir);
	char *state = xasprintf("%s/state", dir);
	parse_or_bail("outbox -C CONF", &r);
	error_clear(&e);
	if (session_open(&s, &r, &e) < 0)
		bail("session_open: %s", e.msg);
	is_int(0, session_open_queue(conf_find_account(s.conf, "work"), &q, &e),
	       "the account's queue_dir opens (%s)", e.msg);
	is_string(want, q.dir, "... at queue_dir");
	ok(is_queue_dir(want), "... made with its layout");
	queue_close(&q);
	is_int(0, session_open_queue(NULL, &q, &e), "no account: the default queue opens");
	free(want);
	want = xasprintf("%s/outbox/queue", state);
	is_string(want, q.dir, "... under $XDG_STATE_HOME");
	queue_close(&q);
	write_config("not-a-dir", "a file\n");
	ok(session_open_queue(conf_find_account(s.conf, "lists"), &q, &e) < 0 &&
		   e.status == ST_CANTCREAT && contains(e.msg, "not-a-dir"),
	   "a queue_dir that is a file: ST_CANTCREAT: %s", e.msg);
	queue_close(&q);
	session_close(&s);
	cli_request_free(&r);
	free(want);
	free(state);
}

/* The queue commands' way in: one-offs refused, -a must exist, else the
 * default account's queue. */
static void
test_open_for_queue(void)
{
	static const struct {
		const char *line;
		const char *queue; /* under DIR; NULL: an error */
		const char *message;
	} cases[] = {
		{"mailq -C CONF", "/q-work", NULL},
		{"mailq -C CONF -a work", "/q-work", NULL},
		{"mailq -C CONF -a proxied", "/q-work", NULL},
		{"mailq -C CONF -a nohost", NULL, "no host"},
		{"mailq -C DIR/nodefault", "/state/outbox/queue", NULL},
		{"mailq -C CONF -a nosuch", NULL, "nosuch"},
		{"mailq -C CONF --port=26", NULL, "--port"},
		{"mailq --host=mx.example", NULL, "--host"},
		{"mailq -C DIR/missing", NULL, "missing"},
	};

	write_config("nodefault", "account only\nhost h\n");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct request r;
		struct session s = {0};
		struct queue q = {.dirfd = -1, .lock_fd = -1};
		struct error e;
		int rc;

		parse_or_bail(cases[i].line, &r);
		error_clear(&e);
		rc = session_open_for_queue(&s, &r, &q, &e);
		if (cases[i].queue != NULL) {
			char *want = xasprintf("%s%s", dir, cases[i].queue);

			is_int(0, rc, "%s: opens a queue (%s)", cases[i].line, e.msg);
			is_string(want, q.dir, "... %s", cases[i].queue);
			free(want);
		} else {
			ok(rc < 0 && contains(e.msg, cases[i].message), "%s: refused: %s",
			   cases[i].line, e.msg);
		}
		queue_close(&q);
		session_close(&s);
		cli_request_free(&r);
	}
}

static void
test_describe_files(void)
{
	struct request r;
	struct session s;
	struct error e;
	struct buf out;
	char *want = xasprintf("user configuration file: %s\n", conf);

	parse_or_bail("outbox -C CONF", &r);
	if (session_open(&s, &r, &e) < 0)
		bail("session_open: %s", e.msg);
	buf_init(&out, 0);
	session_describe_files(&s, &out);
	ok(contains(out.data, want) && !contains(out.data, "msmtp"), "-C: the user file is named");
	session_close(&s);
	cli_request_free(&r);
	buf_reset(&out);
	parse_or_bail("outbox --host=mx.example", &r);
	session_open(&s, &r, &e);
	session_describe_files(&s, &out);
	is_int(0, (long)out.len, "--host: no file was read");
	session_close(&s);
	cli_request_free(&r);
	buf_free(&out);
	free(want);
}

int
main(void)
{
	char *state;

	plan_lazy();
	dir = test_tmpdir("session-t");
	setenv("HOME", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	state = xasprintf("%s/state", dir);
	setenv("XDG_STATE_HOME", state, 1);
	free(state);
	conf = xasprintf("%s/config", dir);
	strlist_init(&args);
	write_config("config", config_text);
	test_open();
	test_pick();
	test_host_account();
	test_one_off();
	test_one_off_table();
	test_supported();
	test_size_limit();
	test_open_queue();
	test_open_for_queue();
	test_describe_files();
	strlist_free(&args);
	free(conf);
	test_tmpdir_free(dir);
	return 0;
}
