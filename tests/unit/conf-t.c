/* conf-t.c - tests for src/conf.c: every keyword, the msmtp syntax,
 * inheritance, account selection, eval, the file lookup, the permission
 * check, aliases files, and that the man page documents every keyword. */
#include "config.h"

#include "conf.h"

#include "tap/basic.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pwd.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/conf-t.XXXXXX";

static char *
tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0)
		bail("cannot write %s", path);
	if (chmod(path, mode) < 0)
		bail("cannot chmod %s", path);
}

static void
make_dir(const char *path)
{
	if (mkdir(path, 0700) < 0)
		bail("cannot create %s", path);
}

/* Parses text labelled "t"; NULL with e filled on error. */
static struct conf *
load(const char *text, struct error *e)
{
	struct conf *c = conf_new();

	error_clear(e);
	if (conf_load_string(c, "t", text, strlen(text), e) < 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

/* A configuration text as one line, for test descriptions. */
static const char *
oneline(const char *text)
{
	static char out[256];
	size_t i;

	for (i = 0; text[i] != '\0' && i < sizeof out - 1; i++)
		out[i] = text[i] == '\n' ? '|' : text[i] == '\r' ? '^' : text[i];
	out[i] = '\0';
	return out;
}

static bool
contains(const char *haystack, const char *needle)
{
	return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* Every keyword: an argument and the value account_get() then returns. */
static const struct {
	const char *keyword;
	const char *argument;
	const char *expected; /* "~/" is replaced by $HOME/ */
} roundtrip[] = {
	{"host", "smtp.example.org", "smtp.example.org"},
	{"port", "2525", "2525"},
	{"source_ip", "192.0.2.1", "192.0.2.1"},
	{"timeout", "off", "off"},
	{"timeout", "86400", "86400"},
	{"domain", "client.example.org", "client.example.org"},
	{"protocol", "LMTP", "lmtp"},
	{"socket", "~/smtp.sock", "~/smtp.sock"},
	{"proxy_host", "127.0.0.1", "127.0.0.1"},
	{"proxy_port", "9050", "9050"},
	{"proxy_port", "", "1080"},
	{"tls", "off", "off"},
	{"tls", "", "on"},
	{"tls_starttls", "OFF", "off"},
	{"tls_trust_file", "/etc/ssl/certs/ca-certificates.crt",
	 "/etc/ssl/certs/ca-certificates.crt"},
	{"tls_trust_file", "", NULL},
	{"tls_crl_file", "~/crl.pem", "~/crl.pem"},
	{"tls_fingerprint",
	 "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:"
	 "dd:ee:ff",
	 "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:"
	 "dd:ee:ff"},
	{"tls_cert_file", "~/client.pem", "~/client.pem"},
	{"tls_key_file", "~", "~"},
	{"tls_certcheck", "off", "off"},
	{"tls_priorities", "NORMAL:-VERS-TLS1.0", "NORMAL:-VERS-TLS1.0"},
	{"tls_host_override", "mx.example.org", "mx.example.org"},
	{"tls_min_dh_prime_bits", "1024", "1024"},
	{"auth", "scram-sha-256-plus", "scram-sha-256-plus"},
	{"auth", "PLAIN", "plain"},
	{"auth", "", "on"},
	{"user", "jane", "jane"},
	{"password", "s3cret pass", "s3cret pass"},
	{"passwordeval", "pass show mail", "pass show mail"},
	{"allow_plaintext_auth", "on", "on"},
	{"oauth2_provider", "Microsoft", "microsoft"},
	{"oauth2_provider", "", NULL},
	{"oauth2_client_id", "123-abc.apps.example", "123-abc.apps.example"},
	{"oauth2_client_secret", "GOCSPX-x", "GOCSPX-x"},
	{"oauth2_tenant", "example.onmicrosoft.com", "example.onmicrosoft.com"},
	{"oauth2_authorize_url", "https://a.example/auth", "https://a.example/auth"},
	{"oauth2_device_url", "https://a.example/device", "https://a.example/device"},
	{"oauth2_token_url", "https://a.example/token", "https://a.example/token"},
	{"oauth2_scope", "https://mail.example/ offline", "https://mail.example/ offline"},
	{"oauth2_tls_trust_file", "/etc/ssl/ca.pem", "/etc/ssl/ca.pem"},
	{"from", "*@example.org", "*@example.org"},
	{"from_full_name", "Jane Doe", "Jane Doe"},
	{"allow_from_override", "off", "off"},
	{"set_from_header", "on", "on"},
	{"set_from_header", "", "on"},
	{"set_date_header", "off", "off"},
	{"set_date_header", "", "auto"},
	{"set_msgid_header", "off", "off"},
	{"remove_bcc_headers", "off", "off"},
	{"undisclosed_recipients", "", "on"},
	{"dsn_notify", "Success,delay", "success,delay"},
	{"dsn_notify", "never", "never"},
	{"dsn_return", "headers", "headers"},
	{"aliases", "~/aliases", "~/aliases"},
	{"logfile", "-", "-"},
	{"logfile_time_format", "%F %T", "%F %T"},
	{"logfile_time_format", "", "%b %d %H:%M:%S"},
	{"syslog", "LOG_MAIL", "LOG_MAIL"},
	{"syslog", "", "on"},
	{"queue", "off", "off"},
	{"queue_dir", "/var/spool/q", "/var/spool/q"},
	{"queue_max_age", "12h", "12h"},
	{"delivery_mode", "Background", "background"},
	{"hold_on_account_error", "off", "off"},
	{"max_message_size", "10M", "10M"},
};

static void
test_roundtrip(void)
{
	bool covered[KW__COUNT] = {false};
	struct error e;

	for (size_t i = 0; i < sizeof roundtrip / sizeof roundtrip[0]; i++) {
		int k = conf_keyword_lookup(roundtrip[i].keyword);
		char *text = xasprintf("account a\n%s %s\n", roundtrip[i].keyword,
				       roundtrip[i].argument);
		struct conf *c = load(text, &e);
		char *want = NULL;

		if (roundtrip[i].expected != NULL && strncmp(roundtrip[i].expected, "~/", 2) == 0)
			want = xasprintf("%s%s", getenv("HOME"), roundtrip[i].expected + 1);
		else if (roundtrip[i].expected != NULL && strcmp(roundtrip[i].expected, "~") == 0)
			want = xstrdup(getenv("HOME"));
		else if (roundtrip[i].expected != NULL)
			want = xstrdup(roundtrip[i].expected);
		ok(k >= 0 && c != NULL, "%s '%s' parses %s", roundtrip[i].keyword,
		   roundtrip[i].argument, c == NULL ? e.msg : "");
		if (k >= 0 && c != NULL) {
			struct account *a = conf_find_account(c, "a");

			covered[k] = true;
			is_string(want, account_get(a, k), "%s '%s' reads back",
				  roundtrip[i].keyword, roundtrip[i].argument);
			is_int(2, a->line[k], "%s remembers its line", roundtrip[i].keyword);
		}
		free(want);
		free(text);
		conf_free(c);
	}
	for (int k = 0; k < KW__COUNT; k++)
		if (conf_keywords[k].type != CT_EVAL)
			ok(covered[k], "keyword %s has a round-trip test", conf_keywords[k].name);
}

/* Lines that must fail, the line number and a piece of the message. */
static const struct {
	const char *text;
	unsigned line;
	const char *message;
} invalid[] = {
	{"account a\nport 0\n", 2, "1 to 65535"},
	{"account a\nport 65536\n", 2, "port"},
	{"account a\nport 25x\n", 2, "port"},
	{"account a\nport\n", 2, "needs an argument"},
	{"account a\nhost\n", 2, "needs an argument"},
	{"account a\ntimeout 0\n", 2, "timeout"},
	{"account a\ntimeout 86401\n", 2, "timeout"},
	{"account a\ntls maybe\n", 2, "on|off"},
	{"account a\nauth digest-md5\n", 2, "auth"},
	{"account a\nsyslog LOG_DAEMON\n", 2, "syslog"},
	{"account a\ndsn_notify never,success\n", 2, "dsn_notify"},
	{"account a\ndsn_notify success,success\n", 2, "dsn_notify"},
	{"account a\ndsn_notify success,\n", 2, "dsn_notify"},
	{"account a\ndsn_return all\n", 2, "dsn_return"},
	{"account a\nprotocol http\n", 2, "protocol"},
	{"account a\nset_date_header on\n", 2, "set_date_header"},
	{"account a\ntls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\n",
	 2, "SHA-256"},
	{"account a\ntls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\n", 2,
	 "SHA-256"},
	{"account a\ntls_fingerprint 0011\n", 2, "fingerprint"},
	{"account a\nqueue_max_age 5x\n", 2, "queue_max_age"},
	{"account a\nqueue_max_age 10\n", 2, "queue_max_age"},
	{"account a\nmax_message_size 3G\n", 2, "max_message_size"},
	{"account a\nmax_message_size 99999999999999999999k\n", 2, "max_message_size"},
	{"account a\ndelivery_mode later\n", 2, "delivery_mode"},
	{"account a\n\n  frobnicate yes\n", 3, "unknown keyword 'frobnicate'"},
	{"account a\nHost x\n", 2, "unknown keyword"},
	{"account a\nport 25 # a comment\n", 2, "port"},
	{"defaults now\n", 1, "no argument"},
	{"account\n", 1, "needs a name"},
	{"account a,b\n", 1, "must not contain"},
	{"account a\naccount b : nosuch\n", 2, "nosuch is not defined"},
	{"account a\naccount b : a,\n", 2, "missing account name"},
	{"account a : a\n", 1, "a is not defined"},
	{"account a\nhost h\naccount a\n", 3, "already defined on line 1"},
	{"account a\nhost h\rx\n", 2, "carriage return"},
	{"account a\neval\n", 2, "needs an argument"},
	{"account a\neval exit 3\n", 2, "exit status 3"},
	{"account a\neval true\n", 2, "printed nothing"},
	{"account a\neval echo eval echo host x\n", 2, "another eval"},
	{"account a\neval echo port 0\n", 2, "port"},
};

static void
test_invalid(void)
{
	struct error e;

	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		struct conf *c = load(invalid[i].text, &e);
		char *prefix = xasprintf("t:%u: ", invalid[i].line);

		ok(c == NULL, "rejected: %s", oneline(invalid[i].text));
		is_int(ST_CONFIG, e.status, "... as a configuration error");
		ok(strncmp(e.msg, prefix, strlen(prefix)) == 0 &&
			   contains(e.msg, invalid[i].message),
		   "... with '%s' and '%s': %s", prefix, invalid[i].message, e.msg);
		free(prefix);
		conf_free(c);
	}
}

static void
test_nul_and_crlf(void)
{
	static const char with_nul[] = "account a\nhost a\0b\n";
	struct conf *c = conf_new();
	struct error e;

	error_clear(&e);
	ok(conf_load_string(c, "t", with_nul, sizeof with_nul - 1, &e) < 0 &&
		   contains(e.msg, "t:2: ") && contains(e.msg, "NUL"),
	   "a NUL byte is an error: %s", e.msg);
	conf_free(c);
	c = load("account a\r\nhost h\r\nport 26\r\n", &e);
	ok(c != NULL, "CRLF line ends are accepted");
	if (c != NULL) {
		is_string("h", account_get(conf_find_account(c, "a"), KW_HOST), "... and dropped");
		is_string("26", account_get(conf_find_account(c, "a"), KW_PORT), "... everywhere");
	}
	conf_free(c);
}

static const struct {
	const char *line;
	const char *expected;
} quoting[] = {
	{"user \"  spaced  \"", "  spaced  "},
	{"user \"h\" x", "\"h\" x"},
	{"user \"a\\\"b\"", "a\\\"b"}, /* msmtp: no escapes, only the outer quotes go */
	{"user \"a\"b\"", "a\"b"},
	{"user \"\"\"", "\""},
	{"user \t trimmed\t ", "trimmed"},
	{"user \"\"", NULL},
	{"   user indented", "indented"},
};

static void
test_quoting(void)
{
	struct error e;

	for (size_t i = 0; i < sizeof quoting / sizeof quoting[0]; i++) {
		char *text = xasprintf("account a\n# comment\n   # indented comment\n%s\n",
				       quoting[i].line);
		struct conf *c = load(text, &e);

		ok(c != NULL, "parses: %s", quoting[i].line);
		if (c != NULL)
			is_string(quoting[i].expected,
				  account_get(conf_find_account(c, "a"), KW_USER), "... value");
		conf_free(c);
		free(text);
	}
}

static void
test_long_line(void)
{
	struct error e;
	struct buf text;
	struct conf *c;
	char *token = xmalloc(10241);

	memset(token, 'x', 10240);
	token[10240] = '\0';
	buf_init(&text, 0);
	buf_printf(&text, "account a\nauth xoauth2\npassword %s\nhost h\n", token);
	c = load(text.data, &e);
	ok(c != NULL, "a 10 KB password line is accepted");
	if (c != NULL)
		is_string(token, account_get(conf_find_account(c, "a"), KW_PASSWORD),
			  "... and read in full");
	conf_free(c);
	buf_free(&text);
	free(token);

	c = conf_new();
	token = xcalloc(4 * 1024 * 1024 + 1, 1);
	memset(token, '#', 4 * 1024 * 1024);
	ok(conf_load_string(c, "t", token, 4 * 1024 * 1024 + 1, &e) < 0 &&
		   contains(e.msg, "larger than"),
	   "more than 4 MiB is refused: %s", e.msg);
	free(token);
	conf_free(c);
}

static void
test_inheritance(void)
{
	static const char text[] = "defaults\n"
				   "port 26\n"
				   "tls off\n"
				   "account a\n"
				   "host ha\n"
				   "defaults\n"
				   "port 27\n"
				   "account b : a\n"
				   "user ub\n"
				   "account c\n"
				   "host hc\n"
				   "user uc\n"
				   "account d : b, c\n"
				   "account default : d\n";
	static const struct {
		const char *account;
		enum conf_keyword k;
		const char *expected;
	} cases[] = {
		{"a", KW_PORT, "26"},          {"a", KW_HOST, "ha"},
		{"a", KW_TLS, "off"},          {"b", KW_PORT, "27"},
		{"b", KW_HOST, "ha"},          {"b", KW_USER, "ub"},
		{"c", KW_HOST, "hc"},          {"d", KW_HOST, "hc"},
		{"d", KW_USER, "uc"},          {"d", KW_PORT, "27"},
		{"default", KW_HOST, "hc"},    {"default", KW_PORT, "27"},
		{"a", KW_DOMAIN, "localhost"},
	};
	struct error e;
	struct conf *c = load(text, &e);
	struct account *a;

	ok(c != NULL, "inheritance example parses %s", c == NULL ? e.msg : "");
	if (c == NULL)
		return;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		a = conf_find_account(c, cases[i].account);
		ok(a != NULL, "account %s exists", cases[i].account);
		if (a != NULL)
			is_string(cases[i].expected, account_get(a, cases[i].k), "%s: %s",
				  cases[i].account, conf_keywords[cases[i].k].name);
	}
	a = conf_select(c, NULL, NULL, &e);
	ok(a != NULL && strcmp(a->name, "default") == 0, "account default : d is the default");
	a = conf_find_account(c, "b");
	is_int(7, a->line[KW_PORT], "b's port comes from the second defaults section");
	conf_free(c);

	c = load("host implicit\nfrom me@example.org\naccount other\nhost o\n", &e);
	ok(c != NULL, "settings before any account parse");
	a = c != NULL ? conf_select(c, NULL, NULL, &e) : NULL;
	ok(a != NULL && strcmp(a->name, "default") == 0 &&
		   strcmp(account_get(a, KW_HOST), "implicit") == 0,
	   "... and form the account named default (msmtp)");
	conf_free(c);
}

static void
test_files_override(void)
{
	struct conf *c = conf_new();
	struct account *a;
	struct error e;

	static const char sys[] = "account a\nhost sys\naccount b\nhost sysb\n";
	static const char user[] = "account a\nhost user\n";

	is_int(0, conf_load_string(c, "system", sys, strlen(sys), &e), "system text loads");
	is_int(0, conf_load_string(c, "user", user, strlen(user), &e),
	       "user text loads: same account names in two files are fine");
	a = conf_find_account(c, "a");
	is_string("user", account_get(a, KW_HOST), "the later file's account replaces");
	is_string("user", a->file, "... entirely");
	a = conf_find_account(c, "b");
	is_string("sysb", a != NULL ? account_get(a, KW_HOST) : NULL, "other accounts stay");
	conf_free(c);
}

static const char selection_text[] = "account exact\nhost h1\nfrom Jane@Example.org\n"
				     "account glob\nhost h2\nfrom *@lists.example.org\n"
				     "account plain\nhost h3\nfrom bob@example.net\n"
				     "account default : plain\n";

static const struct {
	const char *name;
	const char *from;
	const char *expected; /* NULL: an error */
	const char *message;
} selection[] = {
	{"glob", "jane@example.org", "glob", NULL},
	{"nosuch", NULL, NULL, "nosuch"},
	{"glbo", NULL, NULL, "account glbo is not defined"},
	{"glbo", NULL, NULL, "(did you mean glob?)"},
	{"defualt", NULL, NULL, "(did you mean default?)"},
	{NULL, "jane@example.org", "exact", NULL},
	{NULL, "JANE@EXAMPLE.ORG", "exact", NULL},
	{NULL, "jane+tag@example.org", "exact", NULL},
	{NULL, "x@lists.example.org", "glob", NULL},
	{NULL, "x+y@LISTS.example.org", "glob", NULL},
	{NULL, "janet@example.org", "default", NULL},
	{NULL, "", "default", NULL},
	{NULL, NULL, "default", NULL},
};

static void
test_selection(void)
{
	struct error e;
	struct conf *c = load(selection_text, &e);

	if (c == NULL)
		bail("selection config: %s", e.msg);
	for (size_t i = 0; i < sizeof selection / sizeof selection[0]; i++) {
		struct account *a;

		error_clear(&e);
		a = conf_select(c, selection[i].name, selection[i].from, &e);
		if (selection[i].expected != NULL)
			is_string(selection[i].expected, a != NULL ? a->name : e.msg, "-a %s -f %s",
				  selection[i].name ? selection[i].name : "-",
				  selection[i].from ? selection[i].from : "-");
		else
			ok(a == NULL && e.status == ST_CONFIG &&
				   contains(e.msg, selection[i].message),
			   "-a %s fails: %s", selection[i].name, e.msg);
	}
	conf_free(c);

	c = load("account a\nhost h\nfrom a@example.org\n", &e);
	ok(conf_select(c, NULL, "b@example.org", &e) == NULL &&
		   contains(e.msg, "no account given and no default account"),
	   "no match and no default is an error: %s", e.msg);
	conf_free(c);
}

static const struct {
	const char *settings;
	const char *port;
	const char *check_error; /* NULL: account_check passes */
} ports[] = {
	{"", "587", NULL},
	{"tls_starttls off\n", "465", NULL},
	{"tls off\n", "25", NULL},
	{"tls off\ntls_starttls off\n", "25", NULL},
	{"port 2525\ntls off\n", "2525", NULL},
	{"protocol lmtp\n", NULL, "port"},
	{"protocol lmtp\nport 24\n", "24", NULL},
	{"tls_cert_file /c.pem\n", "587", "together"},
	{"proxy_host 127.0.0.1\n", "587", NULL},
	{"proxy_host 127.0.0.1\nsocket /run/smtp.sock\n", "587",
	 "proxy_host cannot be used with socket"},
	{"tls_certcheck off\ntls_fingerprint "
	 "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:"
	 "dd:ee:ff\n",
	 "587", "tls_fingerprint"},
	{"auth xoauth2\nuser u\noauth2_provider google\noauth2_client_id c\n", "587", NULL},
	{"auth oauthbearer\nuser u\noauth2_provider microsoft\noauth2_client_id c\n", "587", NULL},
	{"auth plain\nuser u\noauth2_provider google\noauth2_client_id c\n", "587",
	 "'auth xoauth2'"},
	{"auth xoauth2\nuser u\noauth2_provider google\n", "587", "oauth2_client_id"},
	{"auth xoauth2\noauth2_provider google\noauth2_client_id c\n", "587", "'user'"},
	{"oauth2_client_id c\n", "587", "oauth2_provider is not"},
	{"auth xoauth2\nuser u\noauth2_provider custom\noauth2_client_id c\n", "587",
	 "oauth2_token_url"},
	{"auth xoauth2\nuser u\noauth2_provider custom\noauth2_client_id c\n"
	 "oauth2_token_url https://t/\noauth2_scope s\n",
	 "587", "oauth2_device_url"},
	{"auth xoauth2\nuser u\noauth2_provider custom\noauth2_client_id c\n"
	 "oauth2_token_url https://t/\noauth2_scope s\noauth2_device_url https://d/\n",
	 "587", NULL},
	{"auth xoauth2\nuser u\noauth2_provider custom\noauth2_client_id c\n"
	 "oauth2_token_url http://t/\noauth2_scope s\noauth2_device_url https://d/\n",
	 "587", "oauth2_token_url must be an https"},
};

static void
test_ports_and_check(void)
{
	struct error e;

	for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
		char *text = xasprintf("account a\nhost h\n%s", ports[i].settings);
		struct conf *c = load(text, &e);
		struct account *a = c != NULL ? conf_find_account(c, "a") : NULL;

		if (a == NULL)
			bail("port config: %s", e.msg);
		is_string(ports[i].port, account_get(a, KW_PORT), "port with '%s'",
			  oneline(ports[i].settings));
		error_clear(&e);
		if (ports[i].check_error == NULL)
			is_int(0, account_check(a, &e), "... account is usable %s", e.msg);
		else
			ok(account_check(a, &e) < 0 && contains(e.msg, ports[i].check_error),
			   "... account_check: %s", e.msg);
		conf_free(c);
		free(text);
	}
}

static void
test_typed_getters(void)
{
	static const struct {
		const char *line;
		enum conf_keyword k;
		long value;
	} cases[] = {
		{"", KW_TIMEOUT, 60},
		{"timeout off", KW_TIMEOUT, 0},
		{"", KW_QUEUE_MAX_AGE, 5 * 86400},
		{"queue_max_age 3600", KW_QUEUE_MAX_AGE, 3600},
		{"queue_max_age 90m", KW_QUEUE_MAX_AGE, 5400},
		{"queue_max_age 2w", KW_QUEUE_MAX_AGE, 14 * 86400},
		{"", KW_MAX_MESSAGE_SIZE, 50L * 1024 * 1024},
		{"max_message_size 500k", KW_MAX_MESSAGE_SIZE, 500L * 1024},
		{"max_message_size 1G", KW_MAX_MESSAGE_SIZE, 1024L * 1024 * 1024},
		{"max_message_size 4096", KW_MAX_MESSAGE_SIZE, 4096},
		{"", KW_PORT, 587},
		{"", KW_PROXY_PORT, 1080},
		{"", KW_USER, -1},
	};
	struct error e;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = xasprintf("account a\n%s\n", cases[i].line);
		struct conf *c = load(text, &e);

		if (c == NULL)
			bail("getter config: %s", e.msg);
		is_int(cases[i].value, account_long(conf_find_account(c, "a"), cases[i].k),
		       "account_long(%s) after '%s'", conf_keywords[cases[i].k].name,
		       cases[i].line);
		conf_free(c);
		free(text);
	}
	{
		struct conf *c = load("account a\nauth on\nsyslog LOG_MAIL\ntls off\n", &e);
		struct account *a = conf_find_account(c, "a");

		ok(account_bool(a, KW_AUTH) && account_bool(a, KW_SYSLOG) &&
			   !account_bool(a, KW_TLS) && account_bool(a, KW_TLS_CERTCHECK) &&
			   !account_bool(a, KW_USER),
		   "account_bool");
		ok(account_is_set(a, KW_TLS) && !account_is_set(a, KW_TLS_CERTCHECK),
		   "account_is_set");
		conf_free(c);
	}
}

static void
test_eval(void)
{
	struct error e;
	struct conf *c = load("defaults\neval printf 'port 2626\\nhost ignored\\n'\n"
			      "account a\neval echo host evaluated\n",
			      &e);
	struct account *a;

	ok(c != NULL, "eval lines parse %s", c == NULL ? e.msg : "");
	if (c == NULL)
		return;
	a = conf_find_account(c, "a");
	is_string("evaluated", account_get(a, KW_HOST), "eval replaces the line");
	is_string("2626", account_get(a, KW_PORT), "... only by the first output line");
	is_int(4, a->line[KW_HOST], "... keeping the eval line's number");
	conf_free(c);
	c = load("account a\neval if read x; then echo host input; else echo host eof; fi\n", &e);
	ok(c != NULL, "eval with read parses %s", c == NULL ? e.msg : "");
	if (c != NULL)
		is_string("eof", account_get(conf_find_account(c, "a"), KW_HOST),
			  "eval's stdin is /dev/null");
	conf_free(c);
}

/* conf_set_eval: the fuzz target's way to parse eval lines without
 * running them; the replacement gets the command and gives the line. */
static int
fake_eval(void *ctx, const char *cmd, struct buf *out, struct error *e)
{
	strlist_add(ctx, cmd);
	if (strcmp(cmd, "fail") == 0)
		return error_set(e, ST_CONFIG, "fake eval failed");
	return buf_puts(out, "host from-fake\nport 1\n");
}

static void
test_eval_replaced(void)
{
	char *marker = xasprintf("%s/must-not-exist", tmpdir);
	char *text = xasprintf("account a\neval touch %s\n", marker);
	const char failing[] = "account b\neval fail\n";
	struct strlist seen;
	struct error e;
	struct conf *c = conf_new();
	int rc;

	strlist_init(&seen);
	conf_set_eval(c, fake_eval, &seen);
	rc = conf_load_string(c, "t", text, strlen(text), &e);
	is_int(0, rc, "replaced eval: parses %s", rc < 0 ? e.msg : "");
	is_string("from-fake", account_get(conf_find_account(c, "a"), KW_HOST),
		  "replaced eval: its output is the line");
	ok(seen.n == 1 && strncmp(seen.v[0], "touch ", 6) == 0, "replaced eval: gets the command");
	ok(access(marker, F_OK) < 0, "replaced eval: the command did not run");
	ok(conf_load_string(c, "u", failing, strlen(failing), &e) < 0 &&
		   strstr(e.msg, "fake eval failed") != NULL,
	   "replaced eval: its error is the line's error");
	strlist_free(&seen);
	conf_free(c);
	free(text);
	free(marker);
}

/* msmtp's %U, %H, %C, %M placeholders in from and domain. */
static void
test_placeholders(void)
{
	struct error e;
	struct conf *c = load("account a\nhost h\nfrom %U@%H\ndomain %H\n"
			      "account b\nhost h\nfrom 100%%@x\nuser %U\n",
			      &e);
	struct account *a = conf_find_account(c, "a");
	struct account *b = conf_find_account(c, "b");
	struct passwd *pw = getpwuid(getuid());
	char host[256];
	char *want;

	if (gethostname(host, sizeof host) != 0)
		bail("gethostname failed");
	host[sizeof host - 1] = '\0';
	want = xasprintf("%s@%s", pw != NULL ? pw->pw_name : "root", host);
	is_string(want, a ? account_get(a, KW_FROM) : NULL, "from %%U@%%H expanded");
	is_string(host, a ? account_get(a, KW_DOMAIN) : NULL, "domain %%H expanded");
	is_string("100%@x", b ? account_get(b, KW_FROM) : NULL, "%%%% is a percent");
	is_string("%U", b ? account_get(b, KW_USER) : NULL, "other keywords are not expanded");
	free(want);
	conf_free(c);
}

static void
test_describe_and_set(void)
{
	struct error e;
	struct conf *c = load("account a\nhost h\npassword hunter2\n", &e);
	struct account *a = conf_find_account(c, "a");
	struct buf out;

	is_int(0, account_set(a, KW_PORT, "2525", "command line", &e), "account_set a port");
	ok(account_set(a, KW_PORT, "0", "command line", &e) < 0 && contains(e.msg, "port"),
	   "account_set validates: %s", e.msg);
	ok(account_set(a, KW_EVAL, "true", "command line", &e) < 0, "account_set refuses eval");
	buf_init(&out, 0);
	is_int(0, conf_describe_account(a, &out), "describe");
	ok(!contains(out.data, "hunter2"), "the password is not shown");
	ok(contains(out.data, "password               = ********  (t:3)"),
	   "the password is masked");
	ok(contains(out.data, "host                   = h  (t:2)"), "values show their line");
	ok(contains(out.data, "port                   = 2525  (command line)"),
	   "command line values say so");
	ok(contains(out.data, "tls                    = on  (default)"), "defaults say so");
	ok(contains(out.data, "user                   = (not set)"), "unset values say so");
	ok(contains(out.data, "tls_min_dh_prime_bits") && contains(out.data, "ignored"),
	   "ignored keywords say so");
	ok(!contains(out.data, "\neval"), "eval is not a setting");
	buf_free(&out);
	ok(conf_add_account(c, "a", &e) == NULL, "conf_add_account refuses a duplicate");
	a = conf_add_account(c, "cli", &e);
	ok(a != NULL && conf_find_account(c, "cli") == a, "conf_add_account");
	conf_free(c);
}

static void
test_permissions(void)
{
	static const struct {
		const char *text;
		mode_t mode;
		bool system;
		bool good;
	} cases[] = {
		{"account a\nhost h\npassword x\n", 0600, false, true},
		{"account a\nhost h\npassword x\n", 0644, false, false},
		{"account a\nhost h\npassword x\n", 0640, false, false},
		{"account a\nhost h\npassword x\n", 0640, true, true},
		{"account a\nhost h\npassword x\n", 0604, true, false},
		{"account a\nhost h\npassword\n", 0644, false, true},
		{"account a\nhost h\npasswordeval echo x\n", 0644, false, true},
		{"account a\nhost h\neval echo password x\n", 0644, false, true},
		{"defaults\npassword x\naccount a\nhost h\n", 0644, false, false},
		{"account a\nhost h\n", 0666, false, true},
	};
	char *path = tmp_path("perm");

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct conf *c = conf_new();
		struct error e;
		char *chmod = xasprintf("chmod 600 %s", path);
		int rc;

		write_file(path, cases[i].text, cases[i].mode);
		error_clear(&e);
		rc = conf_load_file(c, path, cases[i].system, &e);
		if (cases[i].good)
			ok(rc == 0 && conf_find_account(c, "a") != NULL, "mode %o%s is accepted %s",
			   (unsigned)cases[i].mode, cases[i].system ? " (system)" : "", e.msg);
		else
			ok(rc < 0 && e.status == ST_CONFIG && contains(e.msg, chmod) &&
				   conf_find_account(c, "a") == NULL,
			   "mode %o%s is refused: %s", (unsigned)cases[i].mode,
			   cases[i].system ? " (system)" : "", e.msg);
		free(chmod);
		conf_free(c);
	}
	unlink(path);
	free(path);
}

/* The names looked for with nothing under root, in order. */
static const char *const all_searched[] = {
	"sys/outbox.conf", "xdg/outbox/config", "home/.outboxrc",
	"home/.msmtprc",   "xdg/msmtp/config",  "etc/msmtprc",
};

/* Layouts under a fresh home: which files exist, what is found. */
static const struct {
	const char *files[4];
	bool dash_c;
	const char *user;
	const char *system;
	bool msmtp;
} layouts[] = {
	{{NULL}, false, NULL, NULL, false},
	{{"home/.msmtprc"}, false, "home/.msmtprc", NULL, true},
	{{"xdg/msmtp/config"}, false, "xdg/msmtp/config", NULL, true},
	{{"home/.msmtprc", "etc/msmtprc"}, false, "home/.msmtprc", "etc/msmtprc", true},
	{{"home/.outboxrc", "home/.msmtprc"}, false, "home/.outboxrc", NULL, false},
	{{"xdg/outbox/config", "home/.outboxrc"}, false, "xdg/outbox/config", NULL, false},
	{{"sys/outbox.conf", "home/.msmtprc", "etc/msmtprc"},
	 false,
	 NULL,
	 "sys/outbox.conf",
	 false},
	{{"sys/outbox.conf", "home/.outboxrc"}, false, "home/.outboxrc", "sys/outbox.conf", false},
	{{"home/.msmtprc", "custom"}, true, "custom", NULL, false},
	{{"home/.msmtprc"}, true, NULL, NULL, false}, /* -C names a missing file */
};

/* What was looked for, for layout i: with no file at all every name,
 * and that is what the error of conf_select() lists. */
static void
check_searched(size_t i, const char *root, const struct conf_files *f,
	       const struct conf_paths *paths)
{
	struct buf want;
	struct conf *c;
	struct error e;

	if (f->user != NULL || f->system != NULL)
		return;
	buf_init(&want, 0);
	for (size_t j = 0; j < sizeof all_searched / sizeof all_searched[0]; j++)
		buf_printf(&want, "%s%s/%s", j > 0 ? ", " : "", root, all_searched[j]);
	is_string(want.data, f->searched, "layout %zu: every name looked for, in order", i);
	c = conf_new();
	if (conf_load(c, paths, &e) < 0)
		bail("layout %zu: %s", i, e.msg);
	ok(conf_select(c, NULL, NULL, &e) == NULL &&
		   contains(e.msg, "no configuration file found, so no account to send with "
				   "(looked for ") &&
		   contains(e.msg, want.data) && contains(e.msg, CONF_EXAMPLES_DIR) &&
		   contains(e.msg, CONF_MIGRATION_PAGE),
	   "layout %zu: no file: the error lists them and how to start: %s", i, e.msg);
	ok(conf_select(c, "work", NULL, &e) == NULL && contains(e.msg, want.data),
	   "layout %zu: -a too: %s", i, e.msg);
	conf_free(c);
	buf_free(&want);
}

static void
test_find_files(void)
{
	static const char *const dirs[] = {"home", "xdg", "xdg/outbox", "xdg/msmtp", "sys", "etc"};

	for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
		char *root = xasprintf("layout%zu", i);
		char *rootpath = tmp_path(root);
		char *dir[sizeof dirs / sizeof dirs[0]];
		struct conf_paths paths;
		struct conf_files f;
		struct error e;
		char *want_user, *want_system, *custom;
		struct conf *c;
		int rc;

		make_dir(rootpath);
		for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
			dir[d] = xasprintf("%s/%s", rootpath, dirs[d]);
			make_dir(dir[d]);
		}
		for (size_t j = 0; j < 4 && layouts[i].files[j] != NULL; j++) {
			char *p = xasprintf("%s/%s", rootpath, layouts[i].files[j]);

			write_file(p, "account x\nhost h\n", 0600);
			free(p);
		}
		custom = xasprintf("%s/custom", rootpath);
		paths = (struct conf_paths){.home = dir[0],
					    .xdg_config_home = dir[1],
					    .sysconfdir = dir[4],
					    .msmtp_sysconfdir = dir[5],
					    .user_file = layouts[i].dash_c ? custom : NULL};
		want_user = layouts[i].user ? xasprintf("%s/%s", rootpath, layouts[i].user) : NULL;
		want_system =
			layouts[i].system ? xasprintf("%s/%s", rootpath, layouts[i].system) : NULL;
		error_clear(&e);
		rc = conf_find_files(&paths, &f, &e);
		if (layouts[i].dash_c && layouts[i].user == NULL) {
			ok(rc < 0 && e.status == ST_CONFIG && contains(e.msg, custom),
			   "layout %zu: a missing -C file is an error: %s", i, e.msg);
		} else {
			is_int(0, rc, "layout %zu: lookup works %s", i, e.msg);
			is_string(want_user, f.user, "layout %zu: user file", i);
			is_string(want_system, f.system, "layout %zu: system file", i);
			is_int(layouts[i].msmtp, f.msmtp, "layout %zu: msmtp fallback", i);
			check_searched(i, rootpath, &f, &paths);
			c = conf_new();
			rc = conf_load(c, &paths, &e);
			ok(rc == 0 && (want_user == NULL && want_system == NULL) ==
					      (conf_find_account(c, "x") == NULL),
			   "layout %zu: conf_load reads what was found %s", i, e.msg);
			is_string(want_user, conf_loaded_files(c)->user,
				  "layout %zu: conf_loaded_files", i);
			conf_free(c);
		}
		conf_files_free(&f);
		free(want_user);
		free(want_system);
		free(custom);
		for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++)
			free(dir[d]);
		free(rootpath);
		free(root);
	}
}

static void
test_aliases(void)
{
	static const struct {
		const char *rcpts[4];
		const char *expected[6];
		const char *error;
	} cases[] = {
		{{"root", "x@example.net", "stranger"},
		 {"a@example.org", "ops@example.org", "x@example.net", "catch@example.org"},
		 NULL},
		{{"staff"}, {"a@example.org", "ops@example.org", "b@example.org"}, NULL},
		{{"loop1"}, {NULL}, "loop"},
	};
	char *path = tmp_path("aliases");
	char *bad = tmp_path("aliases.bad");
	struct strlist l;
	struct error e;

	write_file(path,
		   "# aliases\n"
		   "root: admin, ops@example.org\n"
		   "admin: a@example.org  # trailing comment\n"
		   "\n"
		   "staff: root,, b@example.org\n"
		   "default: catch@example.org\n"
		   "loop1: loop2\n"
		   "loop2: loop1\n",
		   0644);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc;

		strlist_init(&l);
		for (size_t j = 0; j < 4 && cases[i].rcpts[j] != NULL; j++)
			strlist_add(&l, cases[i].rcpts[j]);
		error_clear(&e);
		rc = conf_aliases_expand(path, &l, &e);
		if (cases[i].error != NULL) {
			ok(rc < 0 && contains(e.msg, cases[i].error), "aliases case %zu fails: %s",
			   i, e.msg);
		} else {
			size_t n = 0;

			is_int(0, rc, "aliases case %zu expands %s", i, e.msg);
			while (cases[i].expected[n] != NULL)
				n++;
			is_int((long)n, (long)l.n, "aliases case %zu: count", i);
			for (size_t j = 0; j < n && j < l.n; j++)
				is_string(cases[i].expected[j], l.v[j], "aliases case %zu: #%zu", i,
					  j);
		}
		strlist_free(&l);
	}
	strlist_init(&l);
	strlist_add(&l, "x@example.org");
	is_int(0, conf_aliases_expand("/nonexistent/aliases", &l, &e),
	       "without local recipients the file is not read");
	strlist_add(&l, "root");
	ok(conf_aliases_expand("/nonexistent/aliases", &l, &e) < 0 &&
		   contains(e.msg, "/nonexistent/aliases"),
	   "a missing aliases file is an error: %s", e.msg);
	strlist_free(&l);

	write_file(bad, "ok: a@example.org\nbroken line\n", 0644);
	strlist_init(&l);
	strlist_add(&l, "ok");
	ok(conf_aliases_expand(bad, &l, &e) < 0 && contains(e.msg, ":2: "),
	   "a bad line is reported with its number: %s", e.msg);
	write_file(bad, "ok: a@example.org\nok: b@example.org\n", 0644);
	ok(conf_aliases_expand(bad, &l, &e) < 0 && contains(e.msg, "twice"),
	   "a duplicate alias is an error: %s", e.msg);
	strlist_free(&l);
	unlink(path);
	unlink(bad);
	free(path);
	free(bad);
}

/* The man page documents every keyword as a ".B keyword" line. */
static void
test_man_page(void)
{
	char *path = xasprintf("%s/doc/outbox.conf.5", test_srcdir());
	FILE *f = fopen(path, "r");
	struct buf page;
	char chunk[4096];
	size_t n;

	if (f == NULL)
		bail("cannot open %s", path);
	buf_init(&page, 0);
	buf_puts(&page, "\n");
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_append(&page, chunk, n);
	fclose(f);
	for (int k = 0; k < KW__COUNT; k++) {
		char *line = xasprintf("\n.B %s\n", conf_keywords[k].name);

		ok(contains(page.data, line), "%s documents %s", path, conf_keywords[k].name);
		free(line);
	}
	buf_free(&page);
	free(path);
}

static void
test_lookup(void)
{
	for (int k = 0; k < KW__COUNT; k++)
		is_int(k, conf_keyword_lookup(conf_keywords[k].name), "lookup %s",
		       conf_keywords[k].name);
	is_int(-1, conf_keyword_lookup("account"), "account is not a keyword");
	is_int(-1, conf_keyword_lookup(""), "nor is the empty string");
}

int
main(void)
{
	plan_lazy();
	if (mkdtemp(tmpdir) == NULL)
		bail("cannot create a temporary directory");
	setenv("HOME", tmpdir, 1);
	test_lookup();
	test_roundtrip();
	test_invalid();
	test_nul_and_crlf();
	test_quoting();
	test_long_line();
	test_inheritance();
	test_files_override();
	test_selection();
	test_ports_and_check();
	test_typed_getters();
	test_eval();
	test_eval_replaced();
	test_describe_and_set();
	test_placeholders();
	test_permissions();
	test_find_files();
	test_aliases();
	test_man_page();
	{
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);

		if (system(cmd) != 0)
			diag("could not remove %s", tmpdir);
		free(cmd);
	}
	return 0;
}
