/* sasl.c - the SASL mechanism table and the mechanisms themselves.
 *
 * Untrusted input: server challenges (already base64-decoded).  Responses
 * hold credentials: they go into caller-owned buffers that are wiped. */
#include "config.h"

#include "sasl.h"

#include "i18n.h"

#include <string.h>
#include <strings.h>

/* RFC 4616: authzid NUL authcid NUL passwd, in one initial response. */
static int
plain_step(struct sasl *s, const char *challenge, size_t len, struct buf *out, struct error *e)
{
	if (s->step_no > 0)
		return error_set(
			e, ST_ACCOUNT,
			_("the server asked for more after AUTH PLAIN; check user and password"));
	if (buf_append(out, "", 1) < 0 || buf_puts(out, s->user) < 0 ||
	    buf_append(out, "", 1) < 0 || buf_puts(out, s->password) < 0)
		return error_set(e, ST_ACCOUNT, _("user name or password too long for AUTH PLAIN"));
	return 0;
}

/* draft-murchison-sasl-login: the server prompts "Username:", then
 * "Password:"; the prompts' text is not checked, only their order. */
static int
login_step(struct sasl *s, const char *challenge, size_t len, struct buf *out, struct error *e)
{
	const char *answer;

	if (s->step_no == 0)
		answer = s->user;
	else if (s->step_no == 1)
		answer = s->password;
	else
		return error_set(
			e, ST_ACCOUNT,
			_("the server asked for more after AUTH LOGIN; check user and password"));
	if (buf_puts(out, answer) < 0)
		return error_set(e, ST_ACCOUNT, _("user name or password too long for AUTH LOGIN"));
	return 0;
}

static const struct sasl_mech mechanisms[] = {
	{"PLAIN", true, true, plain_step},
	{"LOGIN", true, false, login_step},
};
#define N_MECHANISMS (sizeof mechanisms / sizeof mechanisms[0])

const struct sasl_mech *
sasl_find(const char *name)
{
	for (size_t i = 0; i < N_MECHANISMS; i++)
		if (strcasecmp(mechanisms[i].name, name) == 0)
			return &mechanisms[i];
	return NULL;
}

static bool
offered_has(const char *offered, const char *name)
{
	size_t n = strlen(name);

	while (*offered != '\0') {
		size_t len = strcspn(offered, " ");

		if (len == n && strncasecmp(offered, name, n) == 0)
			return true;
		offered += len;
		offered += strspn(offered, " ");
	}
	return false;
}

const struct sasl_mech *
sasl_choose(const char *offered, bool encrypted, bool plaintext_ok)
{
	for (size_t i = 0; i < N_MECHANISMS; i++) {
		if (mechanisms[i].reveals_password && !encrypted && !plaintext_ok)
			continue;
		if (offered_has(offered, mechanisms[i].name))
			return &mechanisms[i];
	}
	return NULL;
}

const char *
sasl_mechanisms(void)
{
	static char names[128];

	if (names[0] == '\0') {
		for (size_t i = 0; i < N_MECHANISMS; i++) {
			if (i > 0)
				strcat(names, " ");
			strcat(names, mechanisms[i].name);
		}
	}
	return names;
}

void
sasl_begin(struct sasl *s, const struct sasl_mech *mech, const char *user, const char *password)
{
	s->mech = mech;
	s->user = user != NULL ? user : "";
	s->password = password != NULL ? password : "";
	s->step_no = 0;
}

int
sasl_step(struct sasl *s, const char *challenge, size_t len, struct buf *out, struct error *e)
{
	int rc = s->mech->step(s, challenge, len, out, e);

	s->step_no++;
	return rc;
}
