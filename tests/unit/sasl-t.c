/* sasl-t.c - tests for src/sasl.c: the mechanism table, the choice of
 * mechanism, and the PLAIN and LOGIN exchanges. */
#include "config.h"

#include "sasl.h"

#include "tap/basic.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *offered;
	bool encrypted;
	bool plaintext_ok;
	const char *chosen;
} choices[] = {
	{"PLAIN LOGIN", true, false, "PLAIN"}, {"LOGIN PLAIN", true, false, "PLAIN"},
	{"LOGIN", true, false, "LOGIN"},       {"login", true, false, "LOGIN"},
	{"PLAIN LOGIN", false, false, NULL},   {"PLAIN LOGIN", false, true, "PLAIN"},
	{"GSSAPI NTLM", true, false, NULL},    {"", true, false, NULL},
};

int
main(void)
{
	struct sasl s;
	struct buf out;
	struct error e;

	plan_lazy();
	for (size_t i = 0; i < sizeof choices / sizeof choices[0]; i++) {
		const struct sasl_mech *m = sasl_choose(choices[i].offered, choices[i].encrypted,
							choices[i].plaintext_ok);

		is_string(choices[i].chosen, m ? m->name : NULL, "choose from '%s' (tls %d)",
			  choices[i].offered, choices[i].encrypted);
	}
	ok(sasl_find("plain") != NULL, "find ignores case");
	ok(sasl_find("XOAUTH3") == NULL, "unknown mechanism");
	for (const char *p = sasl_mechanisms(); *p != '\0';) {
		char name[32];
		size_t n = strcspn(p, " ");

		snprintf(name, sizeof name, "%.*s", (int)n, p);
		ok(sasl_find(name) != NULL, "listed mechanism %s exists", name);
		p += n;
		p += strspn(p, " ");
	}

	/* RFC 4616: NUL user NUL password */
	sasl_begin(&s, sasl_find("PLAIN"), "tim", "tanstaaftanstaaf");
	buf_init(&out, 0);
	is_int(0, sasl_step(&s, "", 0, &out, &e), "PLAIN step");
	is_mem("\0tim\0tanstaaftanstaaf", 21, out.data, out.len, "PLAIN response");
	buf_reset(&out);
	is_int(-1, sasl_step(&s, "x", 1, &out, &e), "PLAIN: a second challenge fails");
	is_int(ST_ACCOUNT, e.status, "PLAIN: account class");
	buf_free(&out);

	sasl_begin(&s, sasl_find("LOGIN"), "bob", "secret");
	buf_init(&out, 0);
	is_int(0, sasl_step(&s, "Username:", 9, &out, &e), "LOGIN user step");
	is_string("bob", out.data, "LOGIN sends the user");
	buf_reset(&out);
	is_int(0, sasl_step(&s, "Password:", 9, &out, &e), "LOGIN password step");
	is_string("secret", out.data, "LOGIN sends the password");
	buf_reset(&out);
	is_int(-1, sasl_step(&s, "More:", 5, &out, &e), "LOGIN: a third challenge fails");
	buf_free(&out);
	ok(sasl_find("PLAIN")->reveals_password, "PLAIN reveals the password");
	return 0;
}
