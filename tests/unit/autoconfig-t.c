/* autoconfig-t.c - tests for src/autoconfig.c's pure parts: config-v1.1
 * XML files (expat through dlopen), DNS answers of SRV and MX records,
 * the order servers are tried in; and the OAuth2 provider guessed from a
 * host name (src/setup.c). */
#include "config.h"

#include "autoconfig.h"
#include "setup.h"

#include "lib.h"

#include "tap/basic.h"

#include <string.h>

#define SMTP(body) "<outgoingServer type=\"smtp\">" body "</outgoingServer>"
#define FILE_OF(servers)                                                                           \
	"<?xml version=\"1.0\"?>\n<clientConfig version=\"1.1\"><emailProvider "                   \
	"id=\"example.org\"><domain>example.org</domain>"                                          \
	"<incomingServer type=\"imap\"><hostname>imap.example.org</hostname><port>993</port>"      \
	"<socketType>SSL</socketType></incomingServer>" servers "</emailProvider></clientConfig>"

static const struct {
	const char *xml;
	int rc;
	size_t n;
	const char *host; /* the first server */
	long port;
	enum autoconfig_tls tls;
	const char *user;
	bool oauth2;
} files[] = {
	{FILE_OF(SMTP("<hostname>smtp.example.org</hostname><port>465</port>"
		      "<socketType>SSL</socketType><username>%EMAILADDRESS%</username>"
		      "<authentication>password-cleartext</authentication>")),
	 0, 1, "smtp.example.org", 465, AUTOCONFIG_IMPLICIT_TLS, "alice@example.org", false},
	{FILE_OF(SMTP("<hostname> smtp.example.org\n</hostname><port>587</port>"
		      "<socketType>STARTTLS</socketType><username>%EMAILLOCALPART%</username>"
		      "<authentication>OAuth2</authentication>"
		      "<authentication>password-cleartext</authentication>")),
	 0, 1, "smtp.example.org", 587, AUTOCONFIG_STARTTLS, "alice", true},
	/* plain is never offered (RFC 8314): only the TLS one is kept */
	{FILE_OF(SMTP("<hostname>plain.example.org</hostname><port>25</port>"
		      "<socketType>plain</socketType>") SMTP("<hostname>tls.example.org</hostname>"
							     "<port>465</port><socketType>SSL</"
							     "socketType>")),
	 0, 1, "tls.example.org", 465, AUTOCONFIG_IMPLICIT_TLS, "", false},
	/* a bad host name, a port out of range, a missing port: dropped */
	{FILE_OF(SMTP("<hostname>smtp.example.org; rm</hostname><port>465</port>"
		      "<socketType>SSL</socketType>") SMTP("<hostname>a.example.org</hostname>"
							   "<port>70000</port><socketType>SSL</"
							   "socketType>")
			 SMTP("<hostname>b.example.org</hostname><socketType>SSL</socketType>")),
	 0, 0, NULL, 0, 0, NULL, false},
	/* an outgoingServer outside emailProvider does not count */
	{"<clientConfig>" SMTP("<hostname>x.example.org</hostname><port>465</port>"
			       "<socketType>SSL</socketType>") "</clientConfig>",
	 0, 0, NULL, 0, 0, NULL, false},
	{"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><clientConfig/>", -1, 0, NULL,
	 0, 0, NULL, false},
	{"<clientConfig><emailProvider>", -1, 0, NULL, 0, 0, NULL, false},
	{"not xml at all", -1, 0, NULL, 0, 0, NULL, false},
	{"", -1, 0, NULL, 0, 0, NULL, false},
};

static void
test_files(void)
{
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		struct autoconfig ac = {0};
		struct error e;
		int rc = autoconfig_parse_xml(files[i].xml, strlen(files[i].xml),
					      "alice@example.org", &ac, &e);

		is_int(files[i].rc, rc, "file %zu parses as expected", i);
		is_int((long)files[i].n, (long)ac.n, "... %zu servers", files[i].n);
		if (files[i].n == 0 || ac.n == 0)
			continue;
		is_string(files[i].host, ac.servers[0].host, "... host");
		is_int(files[i].port, ac.servers[0].port, "... port");
		is_int(files[i].tls, ac.servers[0].tls, "... TLS");
		is_string(files[i].user, ac.servers[0].user, "... user");
		ok(files[i].oauth2 == ac.servers[0].oauth2, "... OAuth2");
	}
}

/* ---- DNS answers ---- */

struct msg {
	unsigned char b[1024];
	size_t n;
};

static void
put16(struct msg *m, unsigned v)
{
	m->b[m->n++] = (unsigned char)(v >> 8);
	m->b[m->n++] = (unsigned char)v;
}

static void
put_name(struct msg *m, const char *name)
{
	while (*name != '\0') {
		size_t len = strcspn(name, ".");

		m->b[m->n++] = (unsigned char)len;
		memcpy(m->b + m->n, name, len);
		m->n += len;
		name += len + (name[len] == '.');
	}
	m->b[m->n++] = 0;
}

static void
header(struct msg *m, unsigned rcode, unsigned answers)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, 0x8180 | rcode);
	put16(m, 1);
	put16(m, answers);
	put16(m, 0);
	put16(m, 0);
	put_name(m, "q.example.org");
	put16(m, 33);
	put16(m, 1);
}

static void
srv(struct msg *m, unsigned prio, unsigned port, const char *target)
{
	size_t len_at;

	put16(m, 0xc00c); /* the question's name */
	put16(m, 33);
	put16(m, 1);
	put16(m, 0);
	put16(m, 300);
	len_at = m->n;
	put16(m, 0);
	put16(m, prio);
	put16(m, 0);
	put16(m, port);
	put_name(m, target);
	m->b[len_at] = (unsigned char)((m->n - len_at - 2) >> 8);
	m->b[len_at + 1] = (unsigned char)(m->n - len_at - 2);
}

static void
mx(struct msg *m, unsigned pref, const char *exchange)
{
	size_t len_at;

	put16(m, 0xc00c);
	put16(m, 15);
	put16(m, 1);
	put16(m, 0);
	put16(m, 300);
	len_at = m->n;
	put16(m, 0);
	put16(m, pref);
	put_name(m, exchange);
	m->b[len_at + 1] = (unsigned char)(m->n - len_at - 2);
}

static void
test_srv(void)
{
	struct autoconfig ac = {0};
	struct msg m;

	header(&m, 0, 3);
	srv(&m, 20, 465, "b.example.org");
	srv(&m, 10, 465, "a.example.org");
	srv(&m, 30, 465, ".");
	is_int(0, autoconfig_parse_srv(m.b, m.n, AUTOCONFIG_IMPLICIT_TLS, &ac),
	       "SRV answer parses");
	is_int(2, (long)ac.n, "... two targets ('.' is none)");
	is_string("a.example.org", ac.servers[0].host, "... lowest priority first");
	is_string("b.example.org", ac.servers[1].host, "... then the next");
	is_int(465, ac.servers[0].port, "... port");
	header(&m, 0, 1);
	srv(&m, 0, 587, "c.example.org");
	is_int(0, autoconfig_parse_srv(m.b, m.n, AUTOCONFIG_STARTTLS, &ac), "a second answer adds");
	is_int(3, (long)ac.n, "... after the first");
	is_int(AUTOCONFIG_STARTTLS, ac.servers[2].tls, "... with its TLS");
	ac.n = 0;
	for (size_t cut = 0; cut < m.n; cut++)
		if (autoconfig_parse_srv(m.b, cut, AUTOCONFIG_STARTTLS, &ac) == 0 && cut > 12 &&
		    ac.n > 0)
			break;
	is_int(0, (long)ac.n, "a truncated answer adds nothing");
	header(&m, 3, 0);
	is_int(-1, autoconfig_parse_srv(m.b, m.n, AUTOCONFIG_STARTTLS, &ac), "NXDOMAIN is refused");
}

static void
test_mx(void)
{
	char host[AUTOCONFIG_HOST_MAX];
	struct msg m;

	header(&m, 0, 2);
	mx(&m, 20, "mx2.example.net");
	mx(&m, 5, "mx1.example.net");
	is_int(0, autoconfig_parse_mx(m.b, m.n, host, sizeof host), "MX answer parses");
	is_string("mx1.example.net", host, "... lowest preference");
	header(&m, 0, 0);
	is_int(-1, autoconfig_parse_mx(m.b, m.n, host, sizeof host), "no MX: -1");
	is_int(-1, autoconfig_parse_mx(m.b, 5, host, sizeof host), "a short message: -1");
}

static void
test_sort(void)
{
	struct autoconfig ac = {0};

	ac.n = 3;
	strcpy(ac.servers[0].host, "s.example.org");
	ac.servers[0].port = 587;
	ac.servers[0].tls = AUTOCONFIG_STARTTLS;
	strcpy(ac.servers[1].host, "s.example.org");
	ac.servers[1].port = 465;
	strcpy(ac.servers[2].host, "S.example.org");
	ac.servers[2].port = 587;
	ac.servers[2].tls = AUTOCONFIG_STARTTLS;
	autoconfig_sort(&ac);
	is_int(2, (long)ac.n, "sort drops the repeat");
	is_int(465, ac.servers[0].port, "... implicit TLS first (RFC 8314)");
	is_int(587, ac.servers[1].port, "... then STARTTLS");
}

static const struct {
	const char *host, *provider;
} providers[] = {
	{"smtp.gmail.com", "google"},        {"smtp.googlemail.com", "google"},
	{"smtp.office365.com", "microsoft"}, {"smtp-mail.outlook.com", "microsoft"},
	{"smtp.example.org", NULL},          {"notgmail.example.org", NULL},
	{"smtp.outlook.example.org", NULL},  {"OUTLOOK.COM", "microsoft"},
};

static void
test_providers(void)
{
	for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
		is_string(providers[i].provider, setup_oauth2_provider(providers[i].host), "%s: %s",
			  providers[i].host,
			  providers[i].provider ? providers[i].provider : "none");
}

int
main(void)
{
	plan_lazy();
	test_files();
	test_srv();
	test_mx();
	test_sort();
	test_providers();
	return 0;
}
