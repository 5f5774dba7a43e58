/* conf_values-t.c - tests for src/conf_values.c: conf_value_check() for
 * every conf_type at and past its edges (the empty value, ranges, units,
 * case, ~ and placeholders), the stored spelling, the error class and
 * what the message names; conf_value_long() on stored values. */
#include "config.h"

#include "conf_private.h"

#include "tap/basic.h"

#include <stdlib.h>
#include <string.h>

#define HOME "/home/jane"
#define FP16 "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"
#define FP20 FP16 ":00:11:22:33"
#define FP31 FP16 ":00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee"
#define FP32 FP31 ":ff"
#define FPGG "GG:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF" FP16

/* raw checked for k with HOME as the home directory (NULL home when
 * no_home); want: what is stored, or NULL for an error holding message. */
static const struct {
	enum conf_keyword k;
	const char *raw;
	const char *want;
	const char *message;
	bool no_home;
} cases[] = {
	/* CT_STRING */
	{KW_HOST, "smtp.example.org", "smtp.example.org", NULL, false},
	{KW_HOST, "", NULL, "host needs an argument (host hostname)", false},
	{KW_USER, "", "", NULL, false},
	{KW_USER, "%U", "%U", NULL, false},
	{KW_FROM, "100%%@x", "100%@x", NULL, false},
	{KW_FROM, "a@b%", "a@b%", NULL, false},
	{KW_FROM, "%Z@x", "Z@x", NULL, false},
	{KW_LOGFILE_TIME_FORMAT, "", "%b %d %H:%M:%S", NULL, false},
	{KW_PROXY_HOST, "", NULL, "proxy_host needs an argument", false},
	/* CT_PATH */
	{KW_TLS_TRUST_FILE, "~", HOME, NULL, false},
	{KW_TLS_TRUST_FILE, "~/ca.pem", HOME "/ca.pem", NULL, false},
	{KW_TLS_TRUST_FILE, "~jane/ca.pem", "~jane/ca.pem", NULL, false},
	{KW_TLS_TRUST_FILE, "/etc/~/ca.pem", "/etc/~/ca.pem", NULL, false},
	{KW_TLS_TRUST_FILE, "relative.pem", "relative.pem", NULL, false},
	{KW_TLS_TRUST_FILE, "", "", NULL, false},
	{KW_QUEUE_DIR, "~/q", NULL, "cannot expand '~' in ~/q: no home directory", true},
	{KW_QUEUE_DIR, "/q", "/q", NULL, true},
	/* CT_HOSTNAME */
	{KW_DOMAIN, "client.example.org", "client.example.org", NULL, false},
	{KW_DOMAIN, "my_host-1.example", "my_host-1.example", NULL, false},
	{KW_DOMAIN, "[192.0.2.1]", "[192.0.2.1]", NULL, false},
	{KW_DOMAIN, "[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", NULL, false},
	{KW_DOMAIN, "", "", NULL, false},
	{KW_DOMAIN, "a b", NULL, "invalid argument 'a b' for domain: expected a host name", false},
	{KW_DOMAIN, "[]", NULL, "expected a host name", false},
	{KW_DOMAIN, "[a]b", NULL, "expected a host name", false},
	{KW_DOMAIN, "[a b]", NULL, "expected a host name", false},
	{KW_DOMAIN, "[a\\b]", NULL, "expected a host name", false},
	{KW_DOMAIN, "h\xc3\xa9.example", NULL, "expected a host name", false},
	{KW_DOMAIN, "%%", NULL, "invalid argument '%%' for domain", false},
	/* CT_BOOL */
	{KW_TLS, "ON", "on", NULL, false},
	{KW_TLS, "Off", "off", NULL, false},
	{KW_TLS, "", "on", NULL, false},
	{KW_TLS, "yes", NULL, "invalid argument 'yes' for tls: expected [on|off]", false},
	{KW_TLS, "o", NULL, "for tls", false},
	{KW_TLS, "of", NULL, "expected [on|off] (did you mean off?)", false},
	{KW_TLS, "onn", NULL, "expected [on|off] (did you mean on?)", false},
	{KW_TLS, "onn", NULL, "for tls", false},
	{KW_TLS, "on|off", NULL, "for tls", false},
	/* CT_CHOICE */
	{KW_PROTOCOL, "LMTP", "lmtp", NULL, false},
	{KW_PROTOCOL, "smtp ", NULL, "expected smtp|lmtp", false},
	{KW_PROTOCOL, "", NULL, "protocol needs an argument", false},
	{KW_AUTH, "SCRAM-SHA-256-PLUS", "scram-sha-256-plus", NULL, false},
	{KW_AUTH, "external", "external", NULL, false},
	{KW_AUTH, "scram-sha", NULL, "for auth", false},
	{KW_AUTH, "scram-sha-256-pluss", NULL, "(did you mean scram-sha-256-plus?)", false},
	{KW_DELIVERY_MODE, "backgroud", NULL, "(did you mean background?)", false},
	{KW_SYSLOG, "LOG_MAIK", NULL, "(did you mean LOG_MAIL?)", false},
	{KW_AUTH, "plain|login", NULL, "for auth", false},
	{KW_AUTH, "", "on", NULL, false},
	{KW_SET_DATE_HEADER, "on", NULL, "for set_date_header: expected [auto|off]", false},
	{KW_DELIVERY_MODE, "Queue", "queue", NULL, false},
	{KW_DSN_RETURN, "FULL", "full", NULL, false},
	/* CT_NUMBER */
	{KW_PORT, "1", "1", NULL, false},
	{KW_PORT, "65535", "65535", NULL, false},
	{KW_PORT, "0", NULL, "invalid argument '0' for port: expected a number from 1 to 65535",
	 false},
	{KW_PORT, "65536", NULL, "from 1 to 65535", false},
	{KW_PORT, "-1", NULL, "from 1 to 65535", false},
	{KW_PORT, "+25", NULL, "from 1 to 65535", false},
	{KW_PORT, " 25", NULL, "from 1 to 65535", false},
	{KW_PORT, "25 ", NULL, "from 1 to 65535", false},
	{KW_PORT, "0x19", NULL, "from 1 to 65535", false},
	{KW_PORT, "99999999999999999999", NULL, "from 1 to 65535", false},
	{KW_PROXY_PORT, "", "1080", NULL, false},
	{KW_TLS_MIN_DH_PRIME_BITS, "65536", "65536", NULL, false},
	/* CT_TIMEOUT */
	{KW_TIMEOUT, "OFF", "off", NULL, false},
	{KW_TIMEOUT, "1", "1", NULL, false},
	{KW_TIMEOUT, "86400", "86400", NULL, false},
	{KW_TIMEOUT, "0", NULL, "expected off or seconds from 1 to 86400", false},
	{KW_TIMEOUT, "86401", NULL, "expected off or seconds from 1 to 86400", false},
	{KW_TIMEOUT, "60s", NULL, "for timeout", false},
	{KW_TIMEOUT, "", NULL, "timeout needs an argument", false},
	/* CT_SYSLOG */
	{KW_SYSLOG, "LOG_MAIL", "LOG_MAIL", NULL, false},
	{KW_SYSLOG, "LOG_LOCAL7", "LOG_LOCAL7", NULL, false},
	{KW_SYSLOG, "ON", "on", NULL, false},
	{KW_SYSLOG, "", "on", NULL, false},
	{KW_SYSLOG, "log_mail", NULL, "for syslog", false},
	{KW_SYSLOG, "LOG_LOCAL8", NULL, "for syslog", false},
	{KW_SYSLOG, "LOG_DAEMON", NULL, "expected [on|off|facility]", false},
	/* CT_DSN_NOTIFY */
	{KW_DSN_NOTIFY, "SUCCESS,Failure,delay", "success,failure,delay", NULL, false},
	{KW_DSN_NOTIFY, "delay", "delay", NULL, false},
	{KW_DSN_NOTIFY, "Off", "off", NULL, false},
	{KW_DSN_NOTIFY, "NEVER", "never", NULL, false},
	{KW_DSN_NOTIFY, "never,success", NULL, "for dsn_notify", false},
	{KW_DSN_NOTIFY, "off,failure", NULL, "for dsn_notify", false},
	{KW_DSN_NOTIFY, "success,,failure", NULL, "for dsn_notify", false},
	{KW_DSN_NOTIFY, ",success", NULL, "for dsn_notify", false},
	{KW_DSN_NOTIFY, "success,", NULL, "for dsn_notify", false},
	{KW_DSN_NOTIFY, "failure,FAILURE", NULL, "for dsn_notify", false},
	{KW_DSN_NOTIFY, "success failure", NULL, "for dsn_notify", false},
	{KW_DSN_NOTIFY, "", NULL, "dsn_notify needs an argument", false},
	/* CT_FINGERPRINT */
	{KW_TLS_FINGERPRINT, FP32, FP32, NULL, false},
	{KW_TLS_FINGERPRINT, FP31, NULL, "expected a SHA-256 fingerprint", false},
	{KW_TLS_FINGERPRINT, FP32 ":00", NULL, "expected a SHA-256 fingerprint", false},
	{KW_TLS_FINGERPRINT, FP20, NULL, "SHA-1 and MD5 fingerprints are not accepted", false},
	{KW_TLS_FINGERPRINT, FP16, NULL, "SHA-1 and MD5 fingerprints are not accepted", false},
	{KW_TLS_FINGERPRINT, FPGG, NULL, "expected a SHA-256 fingerprint", false},
	{KW_TLS_FINGERPRINT, FP32 ":", NULL, "expected a SHA-256 fingerprint", false},
	{KW_TLS_FINGERPRINT, "", "", NULL, false},
	/* CT_DURATION */
	{KW_QUEUE_MAX_AGE, "60", "60", NULL, false},
	{KW_QUEUE_MAX_AGE, "1m", "1m", NULL, false},
	{KW_QUEUE_MAX_AGE, "366d", "366d", NULL, false},
	{KW_QUEUE_MAX_AGE, "52w", "52w", NULL, false},
	{KW_QUEUE_MAX_AGE, "59", NULL, "from 60s to 366d", false},
	{KW_QUEUE_MAX_AGE, "59s", NULL, "from 60s to 366d", false},
	{KW_QUEUE_MAX_AGE, "367d", NULL, "from 60s to 366d", false},
	{KW_QUEUE_MAX_AGE, "53w", NULL, "from 60s to 366d", false},
	{KW_QUEUE_MAX_AGE, "1x", NULL, "expected a duration", false},
	{KW_QUEUE_MAX_AGE, "1H", NULL, "expected a duration", false},
	{KW_QUEUE_MAX_AGE, "h", NULL, "expected a duration", false},
	{KW_QUEUE_MAX_AGE, "-1h", NULL, "expected a duration", false},
	{KW_QUEUE_MAX_AGE, "1.5h", NULL, "expected a duration", false},
	{KW_QUEUE_MAX_AGE, "1 h", NULL, "expected a duration", false},
	{KW_QUEUE_MAX_AGE, "99999999999999999w", NULL, "expected a duration", false},
	/* CT_SIZE */
	{KW_MAX_MESSAGE_SIZE, "1024", "1024", NULL, false},
	{KW_MAX_MESSAGE_SIZE, "1k", "1k", NULL, false},
	{KW_MAX_MESSAGE_SIZE, "1K", "1K", NULL, false},
	{KW_MAX_MESSAGE_SIZE, "2047M", "2047M", NULL, false},
	{KW_MAX_MESSAGE_SIZE, "1G", "1G", NULL, false},
	{KW_MAX_MESSAGE_SIZE, "1023", NULL, "expected a size such as 500k, 50M or 1G", false},
	{KW_MAX_MESSAGE_SIZE, "2048M", NULL, "from 1k to 2047M", false},
	{KW_MAX_MESSAGE_SIZE, "2G", NULL, "from 1k to 2047M", false},
	{KW_MAX_MESSAGE_SIZE, "1m", NULL, "for max_message_size", false},
	{KW_MAX_MESSAGE_SIZE, "1T", NULL, "for max_message_size", false},
	{KW_MAX_MESSAGE_SIZE, "k", NULL, "for max_message_size", false},
	{KW_MAX_MESSAGE_SIZE, "9999999999999999G", NULL, "for max_message_size", false},
	{KW_MAX_MESSAGE_SIZE, "", NULL, "max_message_size needs an argument", false},
	/* CT_EVAL */
	{KW_EVAL, "echo host x", "echo host x", NULL, false},
	{KW_EVAL, "", NULL, "eval needs an argument (eval command)", false},
};

static void
test_checks(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *name = conf_keywords[cases[i].k].name;
		struct error e;
		char *out = NULL;
		int rc;

		error_clear(&e);
		rc = conf_value_check(cases[i].k, cases[i].raw, cases[i].no_home ? NULL : HOME,
				      &out, &e);
		if (cases[i].want != NULL) {
			if (is_int(0, rc, "%s '%s' is accepted (%s)", name, cases[i].raw, e.msg))
				is_string(cases[i].want, out, "... stored as '%s'", cases[i].want);
		} else {
			ok(rc < 0 && e.status == ST_CONFIG &&
				   strstr(e.msg, cases[i].message) != NULL,
			   "%s '%s' is refused: %s", name, cases[i].raw, e.msg);
		}
		free(out);
	}
}

/* Every type of the keyword table has cases above. */
static void
test_every_type(void)
{
	bool seen[CT_EVAL + 1] = {false};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		seen[conf_keywords[cases[i].k].type] = true;
	for (int t = 0; t <= CT_EVAL; t++)
		ok(seen[t], "conf_type %d has value checks", t);
}

/* Error messages show at most 80 bytes of the value. */
static void
test_long_value(void)
{
	char raw[301];
	struct error e;
	char *out = NULL;

	memset(raw, 'a', 80);
	memset(raw + 80, 'Z', 220);
	raw[300] = '\0';
	ok(conf_value_check(KW_PORT, raw, HOME, &out, &e) < 0 && strchr(e.msg, 'Z') == NULL &&
		   strstr(e.msg, "aaaaaaaa'") != NULL,
	   "a long value is cut at 80 bytes in the message");
	ok(conf_value_check(KW_TLS, raw, HOME, &out, &e) < 0 && strchr(e.msg, 'Z') == NULL,
	   "... for choices too");
	ok(conf_value_check(KW_DOMAIN, raw, HOME, &out, &e) < 0 && strchr(e.msg, 'Z') == NULL,
	   "... and host names");
	{
		char name[300];

		memset(name, 'a', 255);
		name[255] = '\0';
		is_int(0, conf_value_check(KW_DOMAIN, name, HOME, &out, &e),
		       "a host name of 255 octets is accepted");
		free(out);
		out = NULL;
		name[255] = 'a';
		name[256] = '\0';
		ok(conf_value_check(KW_DOMAIN, name, HOME, &out, &e) < 0 &&
			   strstr(e.msg, "at most 255 octets") != NULL,
		   "one of 256 is refused: %s", e.msg);
	}
}

static const struct {
	enum conf_keyword k;
	const char *stored;
	long want;
} longs[] = {
	{KW_TIMEOUT, "off", 0},
	{KW_TIMEOUT, "60", 60},
	{KW_TIMEOUT, "86401", -1},
	{KW_TIMEOUT, "bogus", -1},
	{KW_PORT, "2525", 2525},
	{KW_PORT, "0", -1},
	{KW_QUEUE_MAX_AGE, "3600", 3600},
	{KW_QUEUE_MAX_AGE, "90m", 5400},
	{KW_QUEUE_MAX_AGE, "12h", 43200},
	{KW_QUEUE_MAX_AGE, "5d", 5 * 86400},
	{KW_QUEUE_MAX_AGE, "2w", 14 * 86400},
	{KW_QUEUE_MAX_AGE, "1s", -1},
	{KW_MAX_MESSAGE_SIZE, "500k", 512000},
	{KW_MAX_MESSAGE_SIZE, "500K", 512000},
	{KW_MAX_MESSAGE_SIZE, "50M", 50L * 1024 * 1024},
	{KW_MAX_MESSAGE_SIZE, "1G", 1024L * 1024 * 1024},
	{KW_MAX_MESSAGE_SIZE, "2047M", 2047L * 1024 * 1024},
	{KW_MAX_MESSAGE_SIZE, "3G", -1},
	{KW_HOST, "h", -1},
	{KW_TLS, "on", -1},
	{KW_SYSLOG, "LOG_MAIL", -1},
};

static void
test_long(void)
{
	for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++)
		is_int(longs[i].want, conf_value_long(longs[i].k, longs[i].stored),
		       "%s '%s' is %ld", conf_keywords[longs[i].k].name, longs[i].stored,
		       longs[i].want);
}

int
main(void)
{
	plan_lazy();
	test_checks();
	test_every_type();
	test_long_value();
	test_long();
	return 0;
}
