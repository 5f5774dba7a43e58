/* autoconfig.h - where an address's submission server is, found as a mail
 * client finds it: the provider's autoconfig file, the Thunderbird ISPDB
 * for the domain and for the domain of its MX host, then DNS SRV records
 * (RFC 6186, RFC 8314).  The first source that answers wins.
 *
 * Untrusted input: the autoconfig XML (at most 64 KiB over HTTPS, parsed
 * by expat, loaded with dlopen on first use; no DOCTYPE accepted, every
 * field bounded and checked) and DNS answers (parsed here, bounded). */
#ifndef OUTBOX_AUTOCONFIG_H
#define OUTBOX_AUTOCONFIG_H

#include "lib.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>

/* The ISPDB that is asked unless $OUTBOX_ISPDB_URL (for tests) says
 * another: DOMAIN is appended. */
#define AUTOCONFIG_ISPDB_URL "https://autoconfig.thunderbird.net/v1.1/"
#define AUTOCONFIG_SERVERS_MAX 8
#define AUTOCONFIG_HOST_MAX 254

enum autoconfig_tls { AUTOCONFIG_IMPLICIT_TLS, AUTOCONFIG_STARTTLS };

/* What a source said about one submission server. */
struct autoconfig_server {
	char host[AUTOCONFIG_HOST_MAX];
	long port;
	enum autoconfig_tls tls;
	bool oauth2;    /* the provider offers OAuth2 */
	bool no_auth;   /* it says the server wants no authentication */
	char user[256]; /* the user name, "" when the source did not say */
};

struct autoconfig {
	struct autoconfig_server servers[AUTOCONFIG_SERVERS_MAX];
	size_t n;
	char *source;         /* what answered: a URL, or the SRV names */
	struct strlist tried; /* "source: answer" for every source asked, in order */
};

struct autoconfig_options {
	const char *ispdb_url;  /* NULL: $OUTBOX_ISPDB_URL, else AUTOCONFIG_ISPDB_URL */
	const char *trust_file; /* NULL: the system's CAs */
	int timeout_ms;         /* for each HTTPS request */
};

/* Asks the sources for address (an ASCII domain after the last '@') in
 * order until one names a server that speaks TLS.  0 with ac filled
 * (servers in the order to try: implicit TLS first, RFC 8314 3.3), or -1
 * with ST_CONFIG and a message naming every source tried and its answer.
 * ac->tried is filled either way; autoconfig_free() frees it. */
int autoconfig_discover(const char *address, const struct autoconfig_options *o,
			struct autoconfig *ac, struct error *e);
void autoconfig_free(struct autoconfig *ac);

/* ---- pure parts, for the tests and the fuzz target ---- */

/* Adds the SMTP servers of a config-v1.1.xml file (clientConfig >
 * emailProvider > outgoingServer type="smtp") that use TLS, with
 * %EMAILADDRESS%, %EMAILLOCALPART% and %EMAILDOMAIN% in the user name
 * replaced from address.  -1 with e set when the text is not such a file;
 * a file without a usable server is not an error (ac->n stays 0). */
int autoconfig_parse_xml(const char *xml, size_t n, const char *address, struct autoconfig *ac,
			 struct error *e);

/* Adds the targets of a DNS answer of SRV records (RFC 2782), lowest
 * priority first, with the TLS of the service asked; a target of "."
 * (the service is not offered) adds none.  -1 when the answer is
 * malformed. */
int autoconfig_parse_srv(const unsigned char *msg, size_t n, enum autoconfig_tls tls,
			 struct autoconfig *ac);

/* The exchange with the lowest preference in a DNS answer of MX records,
 * into host (hostlen bytes).  -1 when there is none or the answer is
 * malformed. */
int autoconfig_parse_mx(const unsigned char *msg, size_t n, char *host, size_t hostlen);

/* Orders ac's servers: implicit TLS before STARTTLS, otherwise as found;
 * drops repeats. */
void autoconfig_sort(struct autoconfig *ac);

#endif
