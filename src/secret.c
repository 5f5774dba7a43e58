/* secret.c - password sources.
 *
 * Untrusted input: the output of the user's passwordeval command, bounded
 * to 1 MiB.  Every buffer that held a password is wiped. */
#include "config.h"

#include "secret.h"

#include "i18n.h"
#include "lib.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EVAL_OUTPUT_MAX (1024 * 1024)

int
secret_eval(const char *cmd, char **out, struct error *e)
{
	int pipefd[2];
	struct buf b;
	pid_t pid;
	int status;
	bool too_long = false;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return error_set(e, ST_OSERR, _("cannot create a pipe for passwordeval: %s"),
				 strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return error_set(e, ST_OSERR, _("cannot run passwordeval: %s"), strerror(errno));
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
		    dup2(pipefd[1], STDOUT_FILENO) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	buf_init(&b, EVAL_OUTPUT_MAX);
	for (;;) {
		char chunk[4096];
		ssize_t n = read(pipefd[0], chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) < 0)
			too_long = true;
		wipe(chunk, sizeof chunk);
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (too_long || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		buf_free(&b);
		if (too_long)
			return error_set(e, ST_ACCOUNT,
					 _("passwordeval printed more than %d bytes"),
					 EVAL_OUTPUT_MAX);
		return error_set(
			e, ST_ACCOUNT,
			_("passwordeval command failed (%s %d); run it by hand to see why"),
			WIFEXITED(status) ? _("exit status") : _("signal"),
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	*out = xstrndup(b.data ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

int
secret_get_password(const struct secret_source *src, char **out, struct error *e)
{
	if (src->password != NULL) {
		*out = xstrdup(src->password);
		return 0;
	}
	if (src->passwordeval != NULL)
		return secret_eval(src->passwordeval, out, e);
	return error_set(e, ST_ACCOUNT,
			 _("no password for account %s (user %s at %s); add 'password' or "
			   "'passwordeval' to the account"),
			 src->account ? src->account : "-", src->user ? src->user : "",
			 src->host ? src->host : "");
}
