/* suggest.c - "did you mean" (suggest.h): the optimal string alignment
 * distance, ignoring case, with the rules of suggestion_offer(). */
#include "config.h"

#include "suggest.h"

#include "i18n.h"
#include "lib.h"

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longer words are only matched as prefixes. */
#define SUGGEST_MAX 64

static bool
same_letter(char a, char b)
{
	return tolower((unsigned char)a) == tolower((unsigned char)b);
}

/* The optimal string alignment distance of a and b (edits: insert,
 * delete, replace, swap of neighbours), ignoring case. */
static unsigned
edit_distance(const char *a, size_t m, const char *b, size_t n)
{
	unsigned rows[3][SUGGEST_MAX + 1];
	unsigned *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;

	for (size_t j = 0; j <= n; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= m; i++) {
		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= n; j++) {
			unsigned d = prev[j - 1] + !same_letter(a[i - 1], b[j - 1]);

			if (prev[j] + 1 < d)
				d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (i > 1 && j > 1 && same_letter(a[i - 1], b[j - 2]) &&
			    same_letter(a[i - 2], b[j - 1]) && prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[n];
}

void
suggestion_init(struct suggestion *s, const char *word)
{
	memset(s, 0, sizeof *s);
	s->word = word;
}

void
suggestion_offer(struct suggestion *s, const char *candidate, size_t n)
{
	size_t m = strlen(s->word);
	bool prefix = m < n && strncasecmp(s->word, candidate, m) == 0;
	unsigned score = UINT_MAX;

	/* Twice the edits, one more when the word does not start the
	 * candidate: "of" is nearer "off" than "on". */
	if (m <= SUGGEST_MAX && n <= SUGGEST_MAX) {
		unsigned d = edit_distance(s->word, m, candidate, n);

		if (d == 0 && (m != n || memcmp(s->word, candidate, n) != 0))
			d = 1; /* "HOST" for host */
		if (m >= 2 && d > 0 && d <= 2 && 2 * d <= (m > n ? m : n))
			score = 2 * d + !prefix;
	}
	if (score == UINT_MAX && m >= 3 && prefix)
		score = 6;
	if (score != UINT_MAX && (s->best == NULL || score < s->score)) {
		s->best = candidate;
		s->best_len = n;
		s->score = score;
	}
}

void
suggestion_append(const struct suggestion *s, struct error *e)
{
	size_t used = strlen(e->msg);
	char *best;

	if (s->best == NULL)
		return;
	best = xstrndup(s->best, s->best_len);
	snprintf(e->msg + used, sizeof e->msg - used, _(" (did you mean %s?)"), best);
	free(best);
}
