/* autoconfig.c - finds an address's submission server (autoconfig.h):
 * autoconfig files over HTTPS, the ISPDB, MX and SRV records.
 *
 * Untrusted input: autoconfig XML (expat; the document's DOCTYPE is
 * refused, so no entity is ever declared; each field's text is bounded
 * and host names, ports and socket types are checked) and DNS answers
 * from the system resolver (parsed with bounds on every read; names
 * through dn_expand). */
#include "config.h"

#include "autoconfig.h"

#include "http.h"
#include "i18n.h"
#include "oauth2.h"

#include <arpa/nameser.h>
#include <dlfcn.h>
#include <expat.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- expat, loaded on first use ---- */

#define EXPAT_SYMBOLS(X)                                                                           \
	X(XML_ErrorString)                                                                         \
	X(XML_GetCurrentLineNumber)                                                                \
	X(XML_GetErrorCode)                                                                        \
	X(XML_Parse)                                                                               \
	X(XML_ParserCreate)                                                                        \
	X(XML_ParserFree)                                                                          \
	X(XML_SetCharacterDataHandler)                                                             \
	X(XML_SetElementHandler)                                                                   \
	X(XML_SetStartDoctypeDeclHandler)                                                          \
	X(XML_SetUserData)                                                                         \
	X(XML_StopParser)

#define EXPAT_POINTER(name) static __typeof__(name) *p_##name;
EXPAT_SYMBOLS(EXPAT_POINTER)
#undef EXPAT_POINTER

#define EXPAT_LIBRARY "libexpat.so.1"

static const char *
expat_load(void)
{
	static bool tried;
	static char failure[256];
	void *lib;

	if (tried)
		return failure[0] != '\0' ? failure : NULL;
	tried = true;
	lib = dlopen(EXPAT_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		snprintf(failure, sizeof failure, _("%s cannot be loaded: %s"), EXPAT_LIBRARY,
			 dlerror());
		return failure;
	}
#define EXPAT_LOAD(name)                                                                           \
	if ((*(void **)&p_##name = dlsym(lib, #name)) == NULL) {                                   \
		snprintf(failure, sizeof failure, _("%s has no %s"), EXPAT_LIBRARY, #name);        \
		return failure;                                                                    \
	}
	EXPAT_SYMBOLS(EXPAT_LOAD)
#undef EXPAT_LOAD
	return NULL;
}

/* ---- the XML file ---- */

enum field { F_NONE, F_HOSTNAME, F_PORT, F_SOCKET_TYPE, F_AUTHENTICATION, F_USERNAME };

static const char *const field_names[] = {
	[F_HOSTNAME] = "hostname",      [F_PORT] = "port",
	[F_SOCKET_TYPE] = "socketType", [F_AUTHENTICATION] = "authentication",
	[F_USERNAME] = "username",
};

#define XML_DEPTH_MAX 64

struct xml_walk {
	XML_Parser parser;
	const char *address;
	struct autoconfig *ac;
	unsigned depth;
	bool in_provider; /* inside clientConfig > emailProvider */
	bool in_smtp;     /* inside its outgoingServer type="smtp" */
	bool refused;     /* a DOCTYPE, or too deep */
	bool bad_server;  /* a field of this server did not pass its check */
	bool password;    /* this server takes a password */
	enum field field;
	struct buf text; /* the current field's text, bounded */
	char host[AUTOCONFIG_HOST_MAX];
	char socket_type[16];
	char user[256];
	long port;
	bool oauth2, none;
};

/* A host name as DNS has it (RFC 1123 2.1): letters, digits, '-' and '.'. */
static bool
host_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= AUTOCONFIG_HOST_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

/* Copies a name host_name_ok() passed (so it fits). */
static void
copy_host(char *dst, const char *src)
{
	memcpy(dst, src, strlen(src) + 1);
}

static void
expand_user(const char *tmpl, const char *address, char *out, size_t outlen)
{
	const char *at = strrchr(address, '@');
	size_t local = at != NULL ? (size_t)(at - address) : strlen(address);
	struct buf b;

	buf_init(&b, outlen - 1);
	for (const char *p = tmpl; *p != '\0';) {
		if (strncmp(p, "%EMAILADDRESS%", 14) == 0) {
			buf_puts(&b, address);
			p += 14;
		} else if (strncmp(p, "%EMAILLOCALPART%", 16) == 0) {
			buf_append(&b, address, local);
			p += 16;
		} else if (strncmp(p, "%EMAILDOMAIN%", 13) == 0) {
			buf_puts(&b, at != NULL ? at + 1 : "");
			p += 13;
		} else {
			buf_append(&b, p++, 1);
		}
	}
	snprintf(out, outlen, "%s", b.data != NULL ? b.data : "");
	buf_free(&b);
}

static void
server_reset(struct xml_walk *w)
{
	w->bad_server = w->password = w->oauth2 = w->none = false;
	w->host[0] = w->socket_type[0] = w->user[0] = '\0';
	w->port = 0;
}

/* The end of an outgoingServer: kept when it is complete and uses TLS. */
static void
server_add(struct xml_walk *w)
{
	struct autoconfig_server *s;
	enum autoconfig_tls tls;

	if (strcasecmp(w->socket_type, "SSL") == 0 || strcasecmp(w->socket_type, "TLS") == 0)
		tls = AUTOCONFIG_IMPLICIT_TLS;
	else if (strcasecmp(w->socket_type, "STARTTLS") == 0)
		tls = AUTOCONFIG_STARTTLS;
	else
		return; /* plain: RFC 8314 4.1, never offered to the user */
	if (w->bad_server || w->host[0] == '\0' || w->port == 0 ||
	    w->ac->n >= AUTOCONFIG_SERVERS_MAX)
		return;
	s = &w->ac->servers[w->ac->n++];
	memset(s, 0, sizeof *s);
	copy_host(s->host, w->host);
	s->port = w->port;
	s->tls = tls;
	s->oauth2 = w->oauth2;
	s->no_auth = w->none && !w->oauth2 && !w->password;
	expand_user(w->user, w->address, s->user, sizeof s->user);
}

static void
field_end(struct xml_walk *w)
{
	const char *t = w->text.data != NULL ? w->text.data : "";
	size_t n = w->text.len;

	/* Surrounding white space is layout (XML 1.0 2.10). */
	while (n > 0 && strchr(" \t\r\n", *t) != NULL)
		t++, n--;
	while (n > 0 && strchr(" \t\r\n", t[n - 1]) != NULL)
		n--;
	char *v = xstrndup(t, n);

	switch (w->field) {
	case F_HOSTNAME:
		if (host_name_ok(v))
			copy_host(w->host, v);
		else
			w->bad_server = true;
		break;
	case F_PORT:
		if (parse_long(v, 1, 65535, &w->port) < 0)
			w->bad_server = true;
		break;
	case F_SOCKET_TYPE:
		snprintf(w->socket_type, sizeof w->socket_type, "%s", v);
		break;
	case F_AUTHENTICATION:
		w->oauth2 |= strcasecmp(v, "OAuth2") == 0;
		w->password |= strncasecmp(v, "password-", 9) == 0;
		w->none |= strcasecmp(v, "none") == 0 || strcasecmp(v, "client-IP-address") == 0;
		break;
	case F_USERNAME:
		if (has_line_breaks(v, strlen(v)) || strlen(v) >= sizeof w->user)
			w->bad_server = true;
		else
			snprintf(w->user, sizeof w->user, "%s", v);
		break;
	case F_NONE:
		break;
	}
	free(v);
}

static const char *
attribute(const char **attrs, const char *name)
{
	for (size_t i = 0; attrs[i] != NULL && attrs[i + 1] != NULL; i += 2)
		if (strcmp(attrs[i], name) == 0)
			return attrs[i + 1];
	return NULL;
}

static void
xml_start(void *ctx, const char *name, const char **attrs)
{
	struct xml_walk *w = ctx;
	const char *type;

	if (++w->depth > XML_DEPTH_MAX) {
		w->refused = true;
		(*p_XML_StopParser)(w->parser, XML_FALSE);
		return;
	}
	if (w->depth == 2 && strcmp(name, "emailProvider") == 0) {
		w->in_provider = true;
	} else if (w->depth == 3 && w->in_provider && strcmp(name, "outgoingServer") == 0) {
		type = attribute(attrs, "type");
		w->in_smtp = type != NULL && strcmp(type, "smtp") == 0;
		server_reset(w);
	} else if (w->depth == 4 && w->in_smtp) {
		for (size_t i = 1; i < sizeof field_names / sizeof field_names[0]; i++)
			if (strcmp(name, field_names[i]) == 0)
				w->field = (enum field)i;
		buf_reset(&w->text);
	}
}

static void
xml_end(void *ctx, const char *name)
{
	struct xml_walk *w = ctx;

	if (w->depth == 4 && w->field != F_NONE) {
		field_end(w);
		w->field = F_NONE;
	} else if (w->depth == 3 && w->in_smtp) {
		server_add(w);
		w->in_smtp = false;
	} else if (w->depth == 2) {
		w->in_provider = false;
	}
	w->depth--;
}

static void
xml_text(void *ctx, const char *s, int len)
{
	struct xml_walk *w = ctx;

	/* Past the bound the field is wrong anyway: mark it. */
	if (w->field != F_NONE && len > 0 && buf_append(&w->text, s, (size_t)len) < 0)
		w->bad_server = true;
}

static void
xml_doctype(void *ctx, const char *name, const char *sysid, const char *pubid, int internal)
{
	struct xml_walk *w = ctx;

	w->refused = true;
	(*p_XML_StopParser)(w->parser, XML_FALSE);
}

int
autoconfig_parse_xml(const char *xml, size_t n, const char *address, struct autoconfig *ac,
		     struct error *e)
{
	const char *why = expat_load();
	struct xml_walk w = {.address = address, .ac = ac};
	enum XML_Status st;
	int rc = 0;

	if (why != NULL)
		return error_set(e, ST_CONFIG, _("reading autoconfig files needs expat: %s"), why);
	if (n > INT32_MAX)
		return error_set(e, ST_DATAERR, _("the autoconfig file is too large"));
	w.parser = (*p_XML_ParserCreate)(NULL);
	if (w.parser == NULL)
		return error_set(e, ST_OSERR, _("expat could not start"));
	buf_init(&w.text, 1024);
	(*p_XML_SetUserData)(w.parser, &w);
	(*p_XML_SetElementHandler)(w.parser, xml_start, xml_end);
	(*p_XML_SetCharacterDataHandler)(w.parser, xml_text);
	(*p_XML_SetStartDoctypeDeclHandler)(w.parser, xml_doctype);
	st = (*p_XML_Parse)(w.parser, xml, (int)n, XML_TRUE);
	if (w.refused)
		rc = error_set(e, ST_DATAERR,
			       _("the autoconfig file has a DOCTYPE or is nested too deeply"));
	else if (st != XML_STATUS_OK)
		rc = error_set(e, ST_DATAERR, _("the autoconfig file is not XML (line %lu: %s)"),
			       (unsigned long)(*p_XML_GetCurrentLineNumber)(w.parser),
			       (*p_XML_ErrorString)((*p_XML_GetErrorCode)(w.parser)));
	(*p_XML_ParserFree)(w.parser);
	buf_free(&w.text);
	return rc;
}

/* ---- DNS answers (RFC 1035 4.1) ---- */

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Calls fn for each answer record of type; -1 when the message is
 * malformed. */
typedef int (*rr_fn)(const unsigned char *msg, size_t n, const unsigned char *rdata, size_t rdlen,
		     void *ctx);

static int
each_answer(const unsigned char *msg, size_t n, unsigned type, rr_fn fn, void *ctx)
{
	const unsigned char *end = msg + n, *p = msg + 12;
	char name[NS_MAXDNAME];
	unsigned qd, an;
	int len;

	if (n < 12 || (get16(msg + 2) & 0xf) != 0)
		return -1;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	for (unsigned i = 0; i < qd; i++) {
		len = dn_expand(msg, end, p, name, sizeof name);
		if (len < 0 || end - p < len + 4)
			return -1;
		p += len + 4;
	}
	for (unsigned i = 0; i < an; i++) {
		size_t rdlen;

		len = dn_expand(msg, end, p, name, sizeof name);
		if (len < 0 || end - p < len + 10)
			return -1;
		p += len;
		rdlen = get16(p + 8);
		if ((size_t)(end - p - 10) < rdlen)
			return -1;
		if (get16(p) == type && get16(p + 2) == ns_c_in &&
		    fn(msg, n, p + 10, rdlen, ctx) < 0)
			return -1;
		p += 10 + rdlen;
	}
	return 0;
}

struct srv_walk {
	struct autoconfig *ac;
	enum autoconfig_tls tls;
	unsigned prio[AUTOCONFIG_SERVERS_MAX];
	size_t first; /* where this answer's servers start in ac */
};

static int
srv_record(const unsigned char *msg, size_t n, const unsigned char *rd, size_t rdlen, void *ctx)
{
	struct srv_walk *w = ctx;
	char target[NS_MAXDNAME];
	struct autoconfig_server *s;
	unsigned prio;
	size_t at;

	if (rdlen < 7 || dn_expand(msg, msg + n, rd + 6, target, sizeof target) < 0)
		return -1;
	/* RFC 2782: "." means the service is decidedly not available. */
	if (target[0] == '\0' || strcmp(target, ".") == 0 || get16(rd + 4) == 0 ||
	    !host_name_ok(target) || w->ac->n >= AUTOCONFIG_SERVERS_MAX)
		return 0;
	prio = get16(rd);
	/* Insertion by priority (weights are for load sharing, not order). */
	at = w->ac->n;
	while (at > w->first && w->prio[at - 1] > prio) {
		w->ac->servers[at] = w->ac->servers[at - 1];
		w->prio[at] = w->prio[at - 1];
		at--;
	}
	s = &w->ac->servers[at];
	memset(s, 0, sizeof *s);
	copy_host(s->host, target);
	s->port = (long)get16(rd + 4);
	s->tls = w->tls;
	w->prio[at] = prio;
	w->ac->n++;
	return 0;
}

int
autoconfig_parse_srv(const unsigned char *msg, size_t n, enum autoconfig_tls tls,
		     struct autoconfig *ac)
{
	struct srv_walk w = {.ac = ac, .tls = tls, .first = ac->n};

	return each_answer(msg, n, ns_t_srv, srv_record, &w);
}

struct mx_walk {
	char *host;
	size_t hostlen;
	long best;
};

static int
mx_record(const unsigned char *msg, size_t n, const unsigned char *rd, size_t rdlen, void *ctx)
{
	struct mx_walk *w = ctx;
	char exchange[NS_MAXDNAME];

	if (rdlen < 3 || dn_expand(msg, msg + n, rd + 2, exchange, sizeof exchange) < 0)
		return -1;
	if (host_name_ok(exchange) && (w->best < 0 || get16(rd) < w->best) &&
	    strlen(exchange) < w->hostlen) {
		w->best = get16(rd);
		snprintf(w->host, w->hostlen, "%s", exchange);
	}
	return 0;
}

int
autoconfig_parse_mx(const unsigned char *msg, size_t n, char *host, size_t hostlen)
{
	struct mx_walk w = {.host = host, .hostlen = hostlen, .best = -1};

	if (each_answer(msg, n, ns_t_mx, mx_record, &w) < 0 || w.best < 0)
		return -1;
	return 0;
}

void
autoconfig_sort(struct autoconfig *ac)
{
	struct autoconfig_server sorted[AUTOCONFIG_SERVERS_MAX];
	size_t k = 0;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ac->n; i++) {
			const struct autoconfig_server *s = &ac->servers[i];
			bool seen = false;

			if ((pass == 0) != (s->tls == AUTOCONFIG_IMPLICIT_TLS))
				continue;
			for (size_t j = 0; j < k; j++)
				seen |= strcasecmp(sorted[j].host, s->host) == 0 &&
					sorted[j].port == s->port;
			if (!seen)
				sorted[k++] = *s;
		}
	memcpy(ac->servers, sorted, k * sizeof sorted[0]);
	ac->n = k;
}

/* ---- the sources, in order ---- */

static void
tried(struct autoconfig *ac, const char *source, const char *answer)
{
	strlist_add_owned(&ac->tried, xasprintf("%s: %s", source, answer));
}

/* One autoconfig URL: 0 when it named a server, -1 otherwise (said in
 * ac->tried). */
static int
try_url(const char *url, const char *address, const struct autoconfig_options *o,
	struct autoconfig *ac)
{
	struct buf body;
	struct error e;
	long status = 0;
	char *answer;

	if (http_get(url, o->trust_file, o->timeout_ms, &body, &status, &e) < 0) {
		tried(ac, url,
		      e.msg + (strncmp(e.msg, url, strlen(url)) == 0 ? strlen(url) + 2 : 0));
		return -1;
	}
	if (status != 200) {
		answer = xasprintf(_("HTTP status %ld"), status);
		tried(ac, url, answer);
		free(answer);
	} else if (autoconfig_parse_xml(body.data, body.len, address, ac, &e) < 0) {
		tried(ac, url, e.msg);
	} else if (ac->n == 0) {
		tried(ac, url, _("no SMTP server with TLS in the file"));
	} else {
		tried(ac, url, _("an SMTP server with TLS"));
		ac->source = xstrdup(url);
	}
	buf_free(&body);
	return ac->source != NULL ? 0 : -1;
}

static const char *
ispdb_base(const struct autoconfig_options *o)
{
	const char *env = secure_getenv("OUTBOX_ISPDB_URL");

	if (o->ispdb_url != NULL)
		return o->ispdb_url;
	return env != NULL && *env != '\0' ? env : AUTOCONFIG_ISPDB_URL;
}

static int
try_ispdb(const char *domain, const char *address, const struct autoconfig_options *o,
	  struct autoconfig *ac)
{
	char *url = xasprintf("%s%s", ispdb_base(o), domain);
	int rc = try_url(url, address, o, ac);

	free(url);
	return rc;
}

/* The answer of the system resolver for name and type, or -1 (said). */
static int
dns_query(const char *name, int type, unsigned char *answer, size_t size, struct autoconfig *ac,
	  const char *label)
{
	int len = res_query(name, ns_c_in, type, answer, (int)size);

	if (len >= 0)
		return len;
	tried(ac, label,
	      h_errno == HOST_NOT_FOUND || h_errno == NO_DATA ? _("no record")
	      : h_errno == TRY_AGAIN                          ? _("no answer (try again later)")
							      : _("the lookup failed"));
	return -1;
}

/* The MX host's domain, its last two labels (mx1.mail.example.net gives
 * example.net), whose ISPDB entry describes a hosting provider. */
static int
try_mx(const char *domain, const char *address, const struct autoconfig_options *o,
       struct autoconfig *ac)
{
	unsigned char answer[NS_PACKETSZ * 4];
	char host[AUTOCONFIG_HOST_MAX], *label = xasprintf(_("MX of %s"), domain);
	const char *base;
	int len = dns_query(domain, ns_t_mx, answer, sizeof answer, ac, label), rc = -1;

	if (len >= 0 && autoconfig_parse_mx(answer, (size_t)len, host, sizeof host) < 0)
		tried(ac, label, _("no usable record"));
	else if (len >= 0) {
		base = host + strlen(host);
		for (int dots = 0; base > host && dots < 2; base--)
			if (base[-1] == '.' && ++dots == 2)
				break;
		tried(ac, label, host);
		if (strcasecmp(base, domain) != 0)
			rc = try_ispdb(base, address, o, ac);
	}
	free(label);
	return rc;
}

static int
try_srv(const char *domain, struct autoconfig *ac)
{
	static const struct {
		const char *service;
		enum autoconfig_tls tls;
	} services[] = {
		{"_submissions._tcp", AUTOCONFIG_IMPLICIT_TLS}, /* RFC 8314 5.1 */
		{"_submission._tcp", AUTOCONFIG_STARTTLS},      /* RFC 6186 3.1 */
	};
	unsigned char answer[NS_PACKETSZ * 4];
	struct buf names;

	buf_init(&names, 0);
	for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
		char *name = xasprintf("%s.%s", services[i].service, domain);
		char *label = xasprintf(_("DNS SRV %s"), name);
		size_t before = ac->n;
		int len = dns_query(name, ns_t_srv, answer, sizeof answer, ac, label);

		if (len >= 0 &&
		    autoconfig_parse_srv(answer, (size_t)len, services[i].tls, ac) < 0) {
			ac->n = before;
			tried(ac, label, _("a malformed answer"));
		} else if (len >= 0 && ac->n == before) {
			tried(ac, label, _("the service is not offered"));
		} else if (len >= 0) {
			char *answer_text = xasprintf("%s port %ld", ac->servers[before].host,
						      ac->servers[before].port);

			tried(ac, label, answer_text);
			free(answer_text);
			buf_printf(&names, "%s%s", names.len > 0 ? ", " : "", label);
		}
		free(label);
		free(name);
	}
	if (ac->n > 0)
		ac->source = xstrdup(names.data);
	buf_free(&names);
	return ac->n > 0 ? 0 : -1;
}

static void
tried_join(const struct autoconfig *ac, struct buf *out)
{
	for (size_t i = 0; i < ac->tried.n; i++)
		buf_printf(out, "%s%s", i > 0 ? "; " : "", ac->tried.v[i]);
}

int
autoconfig_discover(const char *address, const struct autoconfig_options *o, struct autoconfig *ac,
		    struct error *e)
{
	const char *at = strrchr(address, '@');
	const char *domain = at != NULL ? at + 1 : "";
	struct buf url, list;
	int rc;

	memset(ac, 0, sizeof *ac);
	strlist_init(&ac->tried);
	if (*domain == '\0' || !host_name_ok(domain))
		return error_set(
			e, ST_USAGE,
			_("'%s' is not an address with an ASCII domain (user@example.org)"),
			address);
	buf_init(&url, 0);
	buf_printf(&url, "https://autoconfig.%s/mail/config-v1.1.xml?emailaddress=", domain);
	oauth2_url_encode(&url, address);
	rc = try_url(url.data, address, o, ac);
	buf_free(&url);
	if (rc < 0) {
		char *wk =
			xasprintf("https://%s/.well-known/autoconfig/mail/config-v1.1.xml", domain);

		rc = try_url(wk, address, o, ac);
		free(wk);
	}
	if (rc < 0)
		rc = try_ispdb(domain, address, o, ac);
	if (rc < 0)
		rc = try_mx(domain, address, o, ac);
	if (rc < 0)
		rc = try_srv(domain, ac);
	if (rc == 0) {
		autoconfig_sort(ac);
		return 0;
	}
	buf_init(&list, 0);
	tried_join(ac, &list);
	error_set(e, ST_CONFIG, _("found no submission server for %s; tried %s"), domain,
		  list.data);
	buf_free(&list);
	return -1;
}

void
autoconfig_free(struct autoconfig *ac)
{
	free(ac->source);
	strlist_free(&ac->tried);
	memset(ac, 0, sizeof *ac);
}
