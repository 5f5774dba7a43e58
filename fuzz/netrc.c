/* netrc.c - fuzz target: the netrc file (src/secret.h).
 *
 * The input is ~/.netrc: written to a private file (mode 0600, so it is
 * used) and looked up with secret_get_password() for the host and user an
 * account names, as when AUTH needs a password that neither the
 * configuration nor passwordeval gives; then secret_describe() says where
 * the password would come from (--pretend).  The keyring comes first in
 * that order and is unreachable here (no D-Bus session), as under cron. */
#include "config.h"

#include "fuzz.h"

#include "lib.h"
#include "secret.h"

#include <stdlib.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *path;
	struct secret_source src = {
		.account = "fuzz",
		.host = "mail.example.org",
		.user = "user",
	};
	struct error e;
	struct buf described;
	char *password = NULL;

	if (path == NULL) {
		unsetenv("DBUS_SESSION_BUS_ADDRESS");
		unsetenv("DISPLAY");
		path = xasprintf("%s/netrc", fuzz_tmpdir());
	}
	if (fuzz_write_file(path, data, size) < 0)
		abort();
	src.netrc = path;
	if (secret_get_password(&src, &password, &e) == 0)
		free_secret(password);
	buf_init(&described, 4096);
	secret_describe(&src, &described, &e);
	buf_free(&described);
	return 0;
}
