/* suggest-t.c - tests for src/suggest.c: which known word "did you mean"
 * offers for a word (edits, case, prefixes, ties), and the message. */
#include "config.h"

#include "suggest.h"

#include "lib.h"
#include "tap/basic.h"

#include <stdlib.h>
#include <string.h>

/* "Did you mean": the word, the candidates ("a|b|c"), the suggestion. */
static const struct {
	const char *word, *candidates, *best;
} suggestions[] = {
	{"tls_starttl", "tls|tls_starttls|tls_certcheck", "tls_starttls"},
	{"tls_startls", "tls|tls_starttls", "tls_starttls"},
	{"of", "on|off", "off"},
	{"o", "on|off", NULL},
	{"onn", "on|off", "on"},
	{"yse", "yes|no", "yes"},
	{"HOTS", "host|port", "host"},
	{"Work", "work|home", "work"},
	{"tls_cert", "tls|tls_certcheck|tls_cert_file", "tls_certcheck"},
	{"x", "on|off", NULL},
	{"yse", "on|off", NULL},
	{"on", "on|off", NULL},
	{"submission", "work|home", NULL},
	{"ab", "abc|abcd", "abc"},
	{"wrok", "home|work|wok", "work"},
};

static void
test_suggestions(void)
{
	for (size_t i = 0; i < sizeof suggestions / sizeof suggestions[0]; i++) {
		struct suggestion s;
		char *best;

		suggestion_init(&s, suggestions[i].word);
		for (const char *p = suggestions[i].candidates; *p != '\0';) {
			size_t n = strcspn(p, "|");

			suggestion_offer(&s, p, n);
			p += n + (p[n] == '|');
		}
		best = s.best != NULL ? xstrndup(s.best, s.best_len) : NULL;
		is_string(suggestions[i].best, best, "did you mean for '%s' among %s",
			  suggestions[i].word, suggestions[i].candidates);
		free(best);
	}
}

static void
test_suggestion_append(void)
{
	struct suggestion s;
	struct error e;

	suggestion_init(&s, "hots");
	suggestion_offer(&s, "host", 4);
	error_set(&e, ST_CONFIG, "unknown keyword 'hots'");
	suggestion_append(&s, &e);
	is_string("unknown keyword 'hots' (did you mean host?)", e.msg, "suggestion appended");
	suggestion_init(&s, "zzzz");
	suggestion_offer(&s, "host", 4);
	error_set(&e, ST_CONFIG, "unknown keyword 'zzzz'");
	suggestion_append(&s, &e);
	is_string("unknown keyword 'zzzz'", e.msg, "nothing appended when nothing is close");
}

int
main(void)
{
	plan_lazy();
	test_suggestions();
	test_suggestion_append();
	return 0;
}
