/* reply.c - SMTP reply and EHLO capability parsing.
 *
 * Untrusted input: every byte here comes from the server.  Lines and the
 * number of lines are bounded; codes must be three digits 2xx-5xx; a reply
 * whose continuation lines change the code is malformed (RFC 5321 4.2.1). */
#include "config.h"

#include "reply.h"

#include "i18n.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void
reply_init(struct reply *r)
{
	memset(r, 0, sizeof *r);
}

static bool
is_enhanced_code(const char *s, size_t len, size_t *used)
{
	/* class "." subject "." detail, RFC 3463: [245].[0-9]{1,3}.[0-9]{1,3} */
	size_t i = 0;
	int part;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	i = 2;
	for (part = 0; part < 2; part++) {
		size_t start = i;

		while (i < len && i - start < 3 && isdigit((unsigned char)s[i]))
			i++;
		if (i == start)
			return false;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
	}
	if (i < len && s[i] != ' ')
		return false;
	*used = i;
	return true;
}

int
reply_feed(struct reply *r, const char *line, size_t len, struct error *e)
{
	int code;
	bool last;
	const char *text;
	size_t tlen;

	if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5')
		return error_set(e, ST_SERVER_TEMP,
				 _("the server sent a malformed reply line: %.60s"), line);
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return error_set(e, ST_SERVER_TEMP,
				 _("the server sent a malformed reply line: %.60s"), line);
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->lines > 0 && code != r->code)
		return error_set(e, ST_SERVER_TEMP,
				 _("the server changed the reply code inside a multi-line reply"));
	if (++r->lines > REPLY_LINES_MAX)
		return error_set(e, ST_SERVER_TEMP,
				 _("the server sent a reply of more than %d lines"),
				 REPLY_LINES_MAX);
	r->code = code;
	last = len == 3 || line[3] == ' ';
	text = len > 4 ? line + 4 : "";
	tlen = len > 4 ? len - 4 : 0;
	if (r->lines == 1) {
		size_t used;

		if (is_enhanced_code(text, tlen, &used)) {
			memcpy(r->enhanced, text, used);
			r->enhanced[used] = '\0';
		}
	}
	if (r->text_len > 0 && r->text_len + 1 < sizeof r->text)
		r->text[r->text_len++] = '\n';
	if (tlen > sizeof r->text - 1 - r->text_len)
		tlen = sizeof r->text - 1 - r->text_len;
	memcpy(r->text + r->text_len, text, tlen);
	r->text_len += tlen;
	r->text[r->text_len] = '\0';
	r->complete = last;
	return last ? 1 : 0;
}

const char *
reply_first_line(const struct reply *r, char *out, size_t outlen)
{
	size_t n = strcspn(r->text, "\n");

	snprintf(out, outlen, "%d %.*s", r->code, (int)n, r->text);
	return out;
}

static const struct {
	const char *keyword;
	unsigned flag;
} caps_table[] = {
	{"PIPELINING", CAP_PIPELINING},
	{"SIZE", CAP_SIZE},
	{"8BITMIME", CAP_8BITMIME},
	{"SMTPUTF8", CAP_SMTPUTF8},
	{"DSN", CAP_DSN},
	{"STARTTLS", CAP_STARTTLS},
	{"AUTH", CAP_AUTH},
	{"ENHANCEDSTATUSCODES", CAP_ENHANCEDSTATUSCODES},
	{"CHUNKING", CAP_CHUNKING},
};

static void
caps_add_auth(struct caps *c, const char *p, size_t len)
{
	/* Mechanism names may be separated by spaces; "AUTH=LOGIN" (an old
	 * Microsoft form) lists them after '=' instead. */
	while (len > 0) {
		size_t n;

		while (len > 0 && (*p == ' ' || *p == '='))
			p++, len--;
		for (n = 0; n < len && p[n] != ' '; n++)
			;
		if (n == 0)
			break;
		if (n < 64) {
			char mech[64];

			for (size_t i = 0; i < n; i++)
				mech[i] = (char)toupper((unsigned char)p[i]);
			mech[n] = '\0';
			if (!caps_has_auth(c, mech) && strlen(c->auth) + n + 2 < sizeof c->auth) {
				if (c->auth[0] != '\0')
					strcat(c->auth, " ");
				strcat(c->auth, mech);
			}
		}
		p += n;
		len -= n;
	}
}

void
caps_parse(const struct reply *ehlo, struct caps *c)
{
	const char *line = ehlo->text;
	bool first = true;

	memset(c, 0, sizeof *c);
	while (*line != '\0') {
		size_t len = strcspn(line, "\n");
		size_t kwlen = 0;

		while (kwlen < len && line[kwlen] != ' ' && line[kwlen] != '=')
			kwlen++;
		if (!first) {
			for (size_t i = 0; i < sizeof caps_table / sizeof caps_table[0]; i++) {
				if (strlen(caps_table[i].keyword) != kwlen ||
				    strncasecmp(line, caps_table[i].keyword, kwlen) != 0)
					continue;
				c->flags |= caps_table[i].flag;
				if (caps_table[i].flag == CAP_AUTH)
					caps_add_auth(c, line + kwlen, len - kwlen);
				if (caps_table[i].flag == CAP_SIZE && kwlen < len) {
					unsigned long v = 0;
					size_t j = kwlen + 1;

					for (; j < len && isdigit((unsigned char)line[j]); j++)
						if (v < 100000000000UL)
							v = v * 10 + (unsigned long)(line[j] - '0');
					c->size_max = v;
				}
			}
		}
		first = false;
		line += len;
		if (*line == '\n')
			line++;
	}
}

bool
caps_has_auth(const struct caps *c, const char *mech)
{
	size_t n = strlen(mech);
	const char *p = c->auth;

	while (*p != '\0') {
		size_t len = strcspn(p, " ");

		if (len == n && strncasecmp(p, mech, n) == 0)
			return true;
		p += len;
		if (*p == ' ')
			p++;
	}
	return false;
}

void
caps_describe(const struct caps *c, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof caps_table / sizeof caps_table[0]; i++) {
		int n;

		if (!(c->flags & caps_table[i].flag))
			continue;
		if (caps_table[i].flag == CAP_SIZE && c->size_max > 0)
			n = snprintf(out + used, outlen - used, "%sSIZE=%lu", used ? " " : "",
				     c->size_max);
		else if (caps_table[i].flag == CAP_AUTH)
			n = snprintf(out + used, outlen - used, "%sAUTH(%s)", used ? " " : "",
				     c->auth);
		else
			n = snprintf(out + used, outlen - used, "%s%s", used ? " " : "",
				     caps_table[i].keyword);
		if (n < 0 || (size_t)n >= outlen - used)
			return;
		used += (size_t)n;
	}
}
