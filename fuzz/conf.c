/* conf.c - fuzz target: the configuration parser and the aliases file
 * (src/conf.h).
 *
 * The input is a configuration file: conf_load_string() parses it as
 * conf_load_file() would (no permission check), then the account that a
 * submission would use is selected, checked and described (--pretend),
 * and every setting read through the typed getters.  `eval` lines never
 * run: conf_set_eval() gives them a stand-in whose output is the command
 * text itself, so the fuzzer also plays the command's output.  The same
 * bytes are then read as an msmtp aliases file, expanding local names. */
#include "config.h"

#include "fuzz.h"

#include "conf.h"
#include "lib.h"

#include <stdio.h>
#include <stdlib.h>

static int
echo_eval(void *ctx, const char *cmd, struct buf *out, struct error *e)
{
	return buf_puts(out, cmd) < 0 ? error_set(e, ST_CONFIG, "eval output too long") : 0;
}

static void
use_account(struct account *a)
{
	struct error e;
	struct buf described;

	if (a == NULL)
		return;
	account_check(a, &e);
	buf_init(&described, 1024 * 1024);
	conf_describe_account(a, &described);
	buf_free(&described);
	for (int k = 0; k < KW__COUNT; k++) {
		account_get(a, (enum conf_keyword)k);
		account_is_set(a, (enum conf_keyword)k);
		account_bool(a, (enum conf_keyword)k);
		account_long(a, (enum conf_keyword)k);
	}
}

static void
aliases(const uint8_t *data, size_t size)
{
	static char *path;
	struct strlist rcpts;
	struct error e;

	if (path == NULL)
		path = xasprintf("%s/aliases", fuzz_tmpdir());
	if (fuzz_write_file(path, data, size) < 0)
		abort();
	strlist_init(&rcpts);
	strlist_add(&rcpts, "root");
	strlist_add(&rcpts, "postmaster");
	strlist_add(&rcpts, "someone@example.org");
	conf_aliases_expand(path, &rcpts, &e);
	strlist_free(&rcpts);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = conf_new();
	struct error e;

	conf_set_eval(c, echo_eval, NULL);
	if (conf_load_string(c, "fuzz", (const char *)data, size, &e) == 0) {
		use_account(conf_select(c, NULL, "user+tag@example.org", &e));
		use_account(conf_find_account(c, "default"));
	}
	conf_free(c);
	aliases(data, size);
	return 0;
}
