/* address_envelope.c - envelope addresses (RFC 5321): the checks of -f
 * and recipient arguments, the form that goes into MAIL FROM and RCPT TO
 * (IDNA with libidn2, or SMTPUTF8), and the RFC 5321 4.1.2 Mailbox check.
 *
 * Untrusted data: addresses from the command line and from headers
 * (-t).  Strings are bounded by ADDRESS_MAX before they get here or are
 * checked against it; control characters are refused and shown escaped
 * in errors; invalid UTF-8 never reaches libidn2. */
#include "config.h"

#include "address_private.h"

#include "i18n.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
check_error(const char *addr, const char *why, struct error *e)
{
	char shown[ADDRESS_PRINTABLE_MAX * 4 + 8];

	address_printable(addr, strlen(addr), shown, sizeof shown);
	return error_set(e, ST_DATAERR, _("invalid address \"%s\": %s"), shown, why);
}

int
address_check(const char *addr, struct error *e)
{
	size_t len = strlen(addr);
	bool quoted = false;

	if (has_line_breaks(addr, len))
		return check_error(addr, _("contains a line break"), e);
	if (len > ADDRESS_MAX)
		return check_error(addr, _("longer than 998 bytes"), e);
	for (size_t i = 0; i < len; i++) {
		char c = addr[i];

		if (address_is_ctl((unsigned char)c))
			return check_error(addr, _("contains a control character"), e);
		if (quoted && c == '\\' && i + 1 < len)
			i++;
		else if (c == '"')
			quoted = !quoted;
		else if (!quoted && (c == ' ' || c == '\t'))
			return check_error(addr, _("contains a space outside quotes"), e);
		else if (!quoted && (c == '<' || c == '>') &&
			 !(c == '<' && i == 0 && addr[len - 1] == '>') &&
			 !(c == '>' && i == len - 1 && addr[0] == '<' && len > 1))
			return check_error(addr, _("unbalanced angle brackets"), e);
	}
	if (quoted)
		return check_error(addr, _("unbalanced quotes"), e);
	return 0;
}

int
address_normalize_sender(const char *arg, char **out, struct error *e)
{
	size_t start = 0, end = strlen(arg);
	char *addr;

	while (start < end && (arg[start] == ' ' || arg[start] == '\t'))
		start++;
	while (end > start && (arg[end - 1] == ' ' || arg[end - 1] == '\t'))
		end--;
	if (end - start >= 2 && arg[start] == '<' && arg[end - 1] == '>') {
		start++;
		end--;
	}
	addr = xstrndup(arg + start, end - start);
	if (address_check(addr, e) < 0) {
		free(addr);
		return -1;
	}
	*out = addr;
	return 0;
}

static bool
is_ascii_n(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

bool
address_is_ascii(const char *s)
{
	return is_ascii_n(s, strlen(s));
}

/* Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
 * past U+10FFFF. */
static bool
utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), len;

	for (size_t i = 0; i < n; i += len)
		if ((len = utf8_char_len(s + i, n - i)) == 0)
			return false;
	return true;
}

/* The A-label form of a Unicode domain (UTS #46 nontransitional, then
 * transitional) into *ace (free with idn2_free); an IDN2_ code. */
static int
domain_to_ace(const char *domain, char **ace)
{
	static const int idna_modes[] = {IDN2_NONTRANSITIONAL, IDN2_TRANSITIONAL};
	int rc = IDN2_OK;

	*ace = NULL;
	for (size_t i = 0; i < sizeof idna_modes / sizeof idna_modes[0]; i++) {
		rc = idn2_to_ascii_8z(domain, ace, idna_modes[i]);
		if (rc == IDN2_OK)
			break;
	}
	return rc;
}

char *
address_to_wire(const char *addr, bool *needs_smtputf8, struct error *e)
{
	const char *at = address_domain_at(addr);
	char *ace = NULL, *wire;
	int rc;

	if (address_is_ascii(addr))
		return xstrdup(addr);
	if (!utf8_valid(addr)) {
		check_error(addr, _("not valid UTF-8"), e);
		return NULL;
	}
	/* RFC 6531 3.2: with SMTPUTF8 the address may go as given. */
	if (at == NULL || !is_ascii_n(addr, (size_t)(at - addr))) {
		*needs_smtputf8 = true;
		return xstrdup(addr);
	}
	if (at[1] == '[')
		return xstrdup(addr);
	rc = domain_to_ace(at + 1, &ace);
	if (rc != IDN2_OK) {
		char why[256];

		snprintf(why, sizeof why, _("the domain cannot be converted to ASCII (%s)"),
			 idn2_strerror(rc));
		check_error(addr, why, e);
		return NULL;
	}
	/* UTS #46 mapping can yield spaces or empty labels (U+00A0, U+200B). */
	if (!address_is_dot_atom(ace, strlen(ace))) {
		idn2_free(ace);
		check_error(addr, _("the domain is not a valid host name"), e);
		return NULL;
	}
	wire = xasprintf("%.*s@%s", (int)(at - addr), addr, ace);
	idn2_free(ace);
	return wire;
}

char *
address_host_to_ascii(const char *host, struct error *e)
{
	char *ace = NULL, *ascii;
	int rc;

	if (address_is_ascii(host))
		return xstrdup(host);
	rc = utf8_valid(host) ? domain_to_ace(host, &ace) : IDN2_ENCODING_ERROR;
	if (rc != IDN2_OK) {
		error_set(e, ST_CONFIG, _("host %s cannot be converted to ASCII (%s); check host"),
			  host, idn2_strerror(rc));
		return NULL;
	}
	ascii = xstrdup(ace);
	idn2_free(ace);
	return ascii;
}

/* --- RFC 5321 4.1.2 Mailbox --- */

/* Quoted-string: qtextSMTP and quoted-pairSMTP between quotes, not empty
 * (RFC 6531 3.3 adds UTF-8 to qtextSMTP). */
static bool
is_quoted_string(const char *s, size_t n)
{
	if (n < 3 || s[0] != '"' || s[n - 1] != '"')
		return false;
	for (size_t i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			if (i + 1 >= n - 1 || s[i + 1] < 32 || s[i + 1] > 126)
				return false;
			i++;
		} else if (c == '"' || address_is_ctl(c)) {
			return false;
		}
	}
	return true;
}

static bool
is_let_dig(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* sub-domain: a letter or digit, then letters, digits and hyphens, not
 * ending in a hyphen; 1 to 63 octets (RFC 1035 2.3.4). */
static bool
is_ldh_label(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !is_let_dig(s[0]) || !is_let_dig(s[n - 1]))
		return false;
	for (size_t i = 1; i < n - 1; i++)
		if (!is_let_dig(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* An A-label ("xn--...") must be valid IDNA: punycode that decodes, to
 * a U-label that IDNA allows, the way address_to_wire() converts. */
static bool
is_valid_alabel(const char *s, size_t n)
{
	char *label = xstrndup(s, n), *ace;
	bool valid = domain_to_ace(label, &ace) == IDN2_OK;

	idn2_free(ace);
	free(label);
	return valid;
}

/* Domain: dot-separated LDH labels, A-labels valid, at most 255 octets.
 * Returns NULL or why not. */
static const char *
domain_problem(const char *d, size_t n)
{
	if (n > 255)
		return _("the domain is longer than 255 octets");
	for (size_t start = 0; start <= n;) {
		const char *dot = memchr(d + start, '.', n - start);
		size_t len = dot != NULL ? (size_t)(dot - d) - start : n - start;

		if (!is_ldh_label(d + start, len))
			return _("the domain is not a valid host name (labels of 1 to 63 "
				 "letters, digits and hyphens, between dots)");
		if (len > 4 && strncasecmp(d + start, "xn--", 4) == 0 &&
		    !is_valid_alabel(d + start, len))
			return _("the domain has an invalid xn-- (IDNA) label");
		start += len + 1;
	}
	return NULL;
}

/* address-literal: [IPv4] or [IPv6:...]. */
static bool
is_address_literal(const char *d, size_t n)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char text[INET6_ADDRSTRLEN + 8];

	if (n < 3 || n - 2 >= sizeof text || d[0] != '[' || d[n - 1] != ']')
		return false;
	memcpy(text, d + 1, n - 2);
	text[n - 2] = '\0';
	if (strncasecmp(text, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, text + 5, addr) == 1;
	return inet_pton(AF_INET, text, addr) == 1;
}

int
address_check_mailbox(const char *addr, struct error *e)
{
	const char *at = address_domain_at(addr);
	const char *domain, *why;
	char *ace = NULL;
	int rc = 0;

	if (at == NULL)
		return check_error(addr, _("no domain; write it as local-part@domain"), e);
	if (!address_is_dot_atom(addr, (size_t)(at - addr)) &&
	    !is_quoted_string(addr, (size_t)(at - addr)))
		return check_error(addr,
				   _("the part before the last @ is not a valid local part; "
				     "quote it if it must contain such characters"),
				   e);
	domain = at + 1;
	if (*domain == '[')
		return is_address_literal(domain, strlen(domain))
			       ? 0
			       : check_error(addr,
					     _("the address literal is not [IPv4] or [IPv6:...]"),
					     e);
	/* U-labels (with SMTPUTF8) are checked in their ASCII form. */
	if (!address_is_ascii(domain) && domain_to_ace(domain, &ace) != IDN2_OK)
		return check_error(addr, _("the domain is not a valid host name"), e);
	why = domain_problem(ace != NULL ? ace : domain, strlen(ace != NULL ? ace : domain));
	if (why != NULL)
		rc = check_error(addr, why, e);
	idn2_free(ace);
	return rc;
}
