/* suggest.h - "did you mean": for unknown keywords, values, account
 * names and long options. */
#ifndef OUTBOX_SUGGEST_H
#define OUTBOX_SUGGEST_H

#include "status.h"

#include <stddef.h>

/* "Did you mean": the known word closest to one that is not known.
 * Offer each candidate in turn (n bytes, so a piece of an "a|b|c" list
 * will do).  A candidate is close when the word has 2 characters or more
 * and at most 2 edits (insert, delete, replace, swap of neighbours; a
 * change of case only counts as one), changing at most half of it, make
 * the word into it; or when
 * the word, 3 characters or more, is the start of it.  Fewer edits win,
 * then a candidate the word starts, then the first offered. */
struct suggestion {
	const char *word;
	const char *best; /* NULL while nothing is close */
	size_t best_len;
	unsigned score; /* see suggestion_offer() */
};
void suggestion_init(struct suggestion *s, const char *word);
void suggestion_offer(struct suggestion *s, const char *candidate, size_t n);
/* Appends " (did you mean BEST?)" to e's message when there is a best. */
void suggestion_append(const struct suggestion *s, struct error *e);

#endif
