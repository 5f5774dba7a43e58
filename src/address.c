/* address.c - parsing of RFC 5322 address lists (header values) into
 * addr-specs, and the pieces the envelope checks in address_envelope.c
 * share: dot-atoms, the domain's '@', addresses shown in errors.
 *
 * Untrusted data: header values of the submitted message.  Every scan is
 * bounded by the given length, NUL bytes and control characters are
 * refused, and no address longer than ADDRESS_MAX or list longer than
 * ADDRESS_LIST_MAX comes out. */
#include "config.h"

#include "address_private.h"

#include "i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
address_printable(const char *s, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n && i < ADDRESS_PRINTABLE_MAX && o + 5 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n' || c == '\t') {
			out[o++] = '\\';
			out[o++] = c == '\r' ? 'r' : c == '\n' ? 'n' : 't';
		} else if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	if (n > ADDRESS_PRINTABLE_MAX && o + 3 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* RFC 5322 3.2.3 atext, extended by RFC 6532 3.2 to UTF-8. */
static bool
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80 || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

bool
address_is_dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

const char *
address_domain_at(const char *addr)
{
	const char *at = NULL;
	bool quoted = false;

	for (const char *p = addr; *p != '\0'; p++) {
		if (quoted && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '@')
			at = p;
	}
	return at;
}

/* --- lexer: RFC 5322 3.2 tokens, with CFWS skipped --- */

enum token_kind { TOK_WORD, TOK_QUOTED, TOK_LITERAL, TOK_SPECIAL };

struct token {
	enum token_kind kind;
	const char *p; /* WORD, LITERAL: the text; QUOTED: between the quotes */
	size_t n;
	char special;
};

struct lexer {
	const char *s;
	size_t len;
	size_t pos;
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips whitespace, folding and (nested) comments.  Returns 0, or -1 when
 * a comment is not closed.  A backslash that is the last byte quotes
 * nothing: pos never passes len. */
static int
skip_cfws(struct lexer *lx)
{
	for (;;) {
		while (lx->pos < lx->len && is_space(lx->s[lx->pos]))
			lx->pos++;
		if (lx->pos >= lx->len || lx->s[lx->pos] != '(')
			return 0;
		for (size_t depth = 0;; lx->pos++) {
			if (lx->pos >= lx->len)
				return -1;
			if (lx->s[lx->pos] == '\\' && lx->pos + 1 < lx->len)
				lx->pos++;
			else if (lx->s[lx->pos] == '(')
				depth++;
			else if (lx->s[lx->pos] == ')' && --depth == 0)
				break;
		}
		lx->pos++;
	}
}

/* Moves past a delimited token whose opening byte is at pos; returns 0 or
 * -1 when the closing byte is missing.  Quoted-pairs are honoured; pos
 * never passes len, even after a backslash at the very end. */
static int
skip_delimited(struct lexer *lx, char close)
{
	for (lx->pos++; lx->pos < lx->len; lx->pos++) {
		if (lx->s[lx->pos] == '\\' && lx->pos + 1 < lx->len)
			lx->pos++;
		else if (lx->s[lx->pos] == close)
			return 0;
	}
	return -1;
}

/* Returns 1 with the next token, 0 at the end, -1 on an unterminated
 * comment, quoted string or domain literal. */
static int
lex_next(struct lexer *lx, struct token *t)
{
	static const char specials[] = "<>@,;:";
	size_t start;

	if (skip_cfws(lx) < 0)
		return -1;
	if (lx->pos >= lx->len)
		return 0;
	start = lx->pos;
	switch (lx->s[start]) {
	case '"':
		if (skip_delimited(lx, '"') < 0)
			return -1;
		*t = (struct token){TOK_QUOTED, lx->s + start + 1, lx->pos - start - 1, 0};
		lx->pos++;
		return 1;
	case '[':
		if (skip_delimited(lx, ']') < 0)
			return -1;
		lx->pos++;
		*t = (struct token){TOK_LITERAL, lx->s + start, lx->pos - start, 0};
		return 1;
	default:
		break;
	}
	if (strchr(specials, lx->s[start]) != NULL) {
		lx->pos++;
		*t = (struct token){TOK_SPECIAL, lx->s + start, 1, lx->s[start]};
		return 1;
	}
	/* Anything else up to a delimiter is word text: dots included, so
	 * "John Q. Public" and "a.b" are single words (RFC 5322 4.1, 4.4). */
	while (lx->pos < lx->len && !is_space(lx->s[lx->pos]) &&
	       strchr("(<>@,;:\"[", lx->s[lx->pos]) == NULL)
		lx->pos++;
	*t = (struct token){TOK_WORD, lx->s + start, lx->pos - start, 0};
	return 1;
}

/* --- one addr-spec, collected token by token --- */

enum spec_prev { PREV_NONE, PREV_DOT, PREV_WORD };

struct spec {
	struct buf local;  /* decoded local part */
	struct buf domain; /* domain text or literal */
	bool any;          /* a token was seen */
	bool at;           /* '@' seen */
	bool bad;          /* not an addr-spec: two '@', two words in a row */
	bool overflow;     /* longer than ADDRESS_MAX */
	bool literal;      /* the domain is a literal */
	enum spec_prev prev;
};

static void
spec_init(struct spec *sp)
{
	buf_init(&sp->local, ADDRESS_MAX);
	buf_init(&sp->domain, ADDRESS_MAX);
	sp->any = sp->at = sp->bad = sp->overflow = sp->literal = false;
	sp->prev = PREV_NONE;
}

static void
spec_reset(struct spec *sp)
{
	buf_free(&sp->local);
	buf_free(&sp->domain);
	spec_init(sp);
}

static void
spec_append(struct spec *sp, const char *p, size_t n)
{
	if (buf_append(sp->at ? &sp->domain : &sp->local, p, n) < 0)
		sp->overflow = true;
}

/* Adds a word, quoted string or literal.  Two words meet only across a
 * dot ("a . b" is the obsolete form of "a.b"); otherwise the tokens were a
 * phrase, not an address. */
static void
spec_token(struct spec *sp, const struct token *t)
{
	bool lead_dot = t->kind == TOK_WORD && t->p[0] == '.';
	bool trail_dot = t->kind == TOK_WORD && t->p[t->n - 1] == '.';

	sp->any = true;
	if (sp->prev == PREV_WORD && !lead_dot)
		sp->bad = true;
	sp->prev = trail_dot ? PREV_DOT : PREV_WORD;
	if (t->kind == TOK_LITERAL) {
		if (!sp->at || sp->domain.len > 0)
			sp->bad = true;
		sp->literal = true;
		spec_append(sp, t->p, t->n);
		return;
	}
	if (sp->literal)
		sp->bad = true;
	if (t->kind == TOK_WORD) {
		spec_append(sp, t->p, t->n);
		return;
	}
	/* Quoted string: undo quoted-pairs and folding (RFC 5322 3.2.4). */
	for (size_t i = 0; i < t->n; i++) {
		if (t->p[i] == '\r' || t->p[i] == '\n')
			continue;
		if (t->p[i] == '\\' && i + 1 < t->n)
			i++;
		spec_append(sp, t->p + i, 1);
	}
}

static void
spec_at(struct spec *sp)
{
	sp->any = true;
	if (sp->at)
		sp->bad = true;
	sp->at = true;
	sp->prev = PREV_NONE;
}

/* Builds the addr-spec text, or NULL when sp does not hold a usable one. */
static char *
spec_build(const struct spec *sp)
{
	const char *local = sp->local.data ? sp->local.data : "";
	struct buf b;
	char *addr;

	if (sp->bad || sp->overflow || sp->local.len == 0 || (sp->at && sp->domain.len == 0))
		return NULL;
	for (size_t i = 0; i < sp->local.len; i++)
		if (address_is_ctl((unsigned char)local[i]))
			return NULL;
	if (sp->at && !sp->literal && !address_is_dot_atom(sp->domain.data, sp->domain.len))
		return NULL;
	if (sp->literal && has_line_breaks(sp->domain.data, sp->domain.len))
		return NULL;
	/* Unbounded here: the caller checks the length of the result. */
	buf_init(&b, 0);
	if (address_is_dot_atom(local, sp->local.len))
		buf_append(&b, local, sp->local.len);
	else
		buf_append_quoted(&b, local, sp->local.len);
	if (sp->at) {
		buf_append(&b, "@", 1);
		buf_append(&b, sp->domain.data, sp->domain.len);
	}
	addr = xstrndup(b.data, b.len);
	buf_free(&b);
	return addr;
}

/* --- the address-list parser --- */

enum list_mode {
	MODE_BARE,        /* collecting a bare addr-spec (or a display name) */
	MODE_ANGLE_START, /* just after '<' */
	MODE_ROUTE,       /* skipping an obsolete route up to ':' */
	MODE_ANGLE,       /* collecting the addr-spec inside <> */
	MODE_AFTER_ANGLE, /* after '>', until ',' or ';' */
};

struct list_parser {
	struct lexer lx;
	struct spec sp;
	enum list_mode mode;
	bool in_group;
	size_t elem_start; /* where the current element began, for errors */
	struct strlist *out;
	struct error *e;
};

static int
list_error(struct list_parser *lp, const char *why)
{
	char shown[ADDRESS_PRINTABLE_MAX * 4 + 8];
	size_t end = lp->lx.pos;

	while (lp->elem_start < end && is_space(lp->lx.s[lp->elem_start]))
		lp->elem_start++;
	/* Show the element up to its separator, not just up to the error. */
	while (end < lp->lx.len && end - lp->elem_start < ADDRESS_PRINTABLE_MAX &&
	       lp->lx.s[end] != ',')
		end++;
	while (end > lp->elem_start && is_space(lp->lx.s[end - 1]))
		end--;
	address_printable(lp->lx.s + lp->elem_start, end - lp->elem_start, shown, sizeof shown);
	return error_set(lp->e, ST_DATAERR, _("invalid address \"%s\": %s"), shown, why);
}

/* Ends the current element: adds its address, if it has one. */
static int
list_finish(struct list_parser *lp)
{
	char *addr;

	if (lp->mode != MODE_BARE && lp->mode != MODE_AFTER_ANGLE)
		return list_error(lp, _("missing '>'"));
	if (!lp->sp.any)
		goto next;
	if (lp->sp.overflow)
		return list_error(lp, _("address longer than 998 bytes"));
	addr = spec_build(&lp->sp);
	if (addr == NULL)
		return list_error(lp, _("not an address; write user@domain or "
					"Name <user@domain>"));
	if (strlen(addr) > ADDRESS_MAX) {
		free(addr);
		return list_error(lp, _("address longer than 998 bytes"));
	}
	if (lp->out->n >= ADDRESS_LIST_MAX) {
		free(addr);
		return error_set(lp->e, ST_DATAERR, _("more than %d addresses; split the message"),
				 ADDRESS_LIST_MAX);
	}
	strlist_add_owned(lp->out, addr);
next:
	spec_reset(&lp->sp);
	lp->mode = MODE_BARE;
	lp->elem_start = lp->lx.pos;
	return 0;
}

/* Inside <...>: an optional obsolete route, then the addr-spec. */
static int
list_angle_token(struct list_parser *lp, const struct token *t)
{
	char c = t->kind == TOK_SPECIAL ? t->special : 0;

	if (lp->mode == MODE_ANGLE_START) {
		lp->mode = c == '@' ? MODE_ROUTE : MODE_ANGLE;
		if (c == '@')
			return 0;
	}
	if (lp->mode == MODE_ROUTE) {
		if (c == '>' || c == '<' || c == ';')
			return list_error(lp, _("incomplete route"));
		if (c == ':')
			lp->mode = MODE_ANGLE;
		return 0;
	}
	switch (c) {
	case 0:
		spec_token(&lp->sp, t);
		return 0;
	case '@':
		spec_at(&lp->sp);
		return 0;
	case '>':
		lp->mode = MODE_AFTER_ANGLE;
		return 0;
	default:
		return list_error(lp, _("unexpected character inside <>"));
	}
}

static int
list_token(struct list_parser *lp, const struct token *t)
{
	if (lp->mode != MODE_BARE && lp->mode != MODE_AFTER_ANGLE)
		return list_angle_token(lp, t);
	switch (t->kind == TOK_SPECIAL ? t->special : 0) {
	case ',':
		return list_finish(lp);
	case ';':
		/* A ';' outside a group is taken as a separator. */
		lp->in_group = false;
		return list_finish(lp);
	case ':':
		if (lp->in_group || lp->mode == MODE_AFTER_ANGLE)
			return list_error(lp, _("unexpected ':'"));
		/* What came before was the group's display name. */
		lp->in_group = true;
		spec_reset(&lp->sp);
		lp->elem_start = lp->lx.pos;
		return 0;
	case '<':
		if (lp->mode == MODE_AFTER_ANGLE)
			return list_error(lp, _("two addresses without a comma"));
		/* What came before was the display name. */
		spec_reset(&lp->sp);
		lp->mode = MODE_ANGLE_START;
		return 0;
	case '>':
		return list_error(lp, _("'>' without '<'"));
	case '@':
		if (lp->mode == MODE_AFTER_ANGLE)
			return list_error(lp, _("text after '>'"));
		spec_at(&lp->sp);
		return 0;
	default:
		/* Words after "<addr>" are leftovers of a broken display name. */
		if (lp->mode == MODE_BARE)
			spec_token(&lp->sp, t);
		return 0;
	}
}

int
address_list_parse(const char *s, size_t len, struct strlist *out, struct error *e)
{
	struct list_parser lp = {.lx = {s, len, 0}, .out = out, .e = e};
	size_t n0 = out->n;
	struct token t;
	int r;

	if (memchr(s, '\0', len) != NULL)
		return error_set(e, ST_DATAERR, _("NUL byte in an address list"));
	spec_init(&lp.sp);
	while ((r = lex_next(&lp.lx, &t)) > 0)
		if (list_token(&lp, &t) < 0)
			goto fail;
	if (r < 0) {
		list_error(&lp, _("unterminated comment, quoted string or domain literal"));
		goto fail;
	}
	if (list_finish(&lp) < 0)
		goto fail;
	spec_reset(&lp.sp);
	return 0;
fail:
	spec_reset(&lp.sp);
	while (out->n > n0)
		free(out->v[--out->n]);
	return -1;
}

char *
address_qualify(const char *addr, const char *domain)
{
	if (*addr == '\0' || domain == NULL || *domain == '\0' || address_domain_at(addr) != NULL)
		return xstrdup(addr);
	return xasprintf("%s@%s", addr, domain);
}
