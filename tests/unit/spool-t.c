/* spool-t.c - tests for src/spool.c: input given as separate reads (a
 * SOCK_SEQPACKET socket hands each chunk to one read), a pipe and a file
 * of more than one read block; the size limit, the header block kept up to
 * head_max + 2 bytes and no further once it is complete, bare LFs also
 * across reads, 8-bit detection, EOF after a lone CR or inside the
 * headers; read, write and directory errors; the private file itself. */
#include "config.h"

#include "spool.h"

#include "tap/basic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHUNKS 4
#define BLOCK 65536 /* spool.c's read size */

static char *dir;

/* One spool_read() of chunks, each arriving as one read. */
static const struct {
	const char *name;
	const char *chunks[MAX_CHUNKS];
	unsigned long long limit;
	size_t head_max;
	enum status status; /* ST_OK: read to the end */
	unsigned long long size, bare_lf;
	bool eightbit;
	const char *head; /* what sp->head holds */
} cases[] = {
	{"empty input", {NULL}, 100, 10, ST_OK, 0, 0, false, ""},
	{"CRLF lines",
	 {"A: b\r\n\r\nbody\r\n"},
	 100,
	 50,
	 ST_OK,
	 14,
	 0,
	 false,
	 "A: b\r\n\r\nbody\r\n"},
	{"bare LF lines", {"A: b\n\nbody\n"}, 100, 50, ST_OK, 11, 3, false, "A: b\n\nbody\n"},
	{"mixed line ends",
	 {"a\r\nb\nc\r\r\n\n"},
	 100,
	 50,
	 ST_OK,
	 10,
	 2,
	 false,
	 "a\r\nb\nc\r\r\n\n"},
	{"a leading LF", {"\n"}, 100, 50, ST_OK, 1, 1, false, "\n"},
	{"CR then LF in the next read",
	 {"A: b\r", "\n\r", "\nbody"},
	 100,
	 50,
	 ST_OK,
	 12,
	 0,
	 false,
	 "A: b\r\n\r\nbody"},
	{"CR, then a byte, then LF", {"a\r", "x\n"}, 100, 50, ST_OK, 4, 1, false, "a\rx\n"},
	{"LF first in a read after text",
	 {"abc", "\ndef"},
	 100,
	 50,
	 ST_OK,
	 7,
	 1,
	 false,
	 "abc\ndef"},
	{"EOF after a lone CR", {"A: b\r"}, 100, 50, ST_OK, 5, 0, false, "A: b\r"},
	{"EOF inside the headers", {"A: b\r\nC: d"}, 100, 50, ST_OK, 10, 0, false, "A: b\r\nC: d"},
	{"a byte 0x80 is 8-bit", {"x\x80y"}, 100, 50, ST_OK, 3, 0, true, "x\x80y"},
	{"a byte 0xff in a later read", {"abc", "\xff"}, 100, 50, ST_OK, 4, 0, true, "abc\xff"},
	{"DEL is not 8-bit", {"\x7f\x01"}, 100, 50, ST_OK, 2, 0, false, "\x7f\x01"},
	{"exactly the limit", {"0123456789"}, 10, 50, ST_OK, 10, 0, false, "0123456789"},
	{"one byte over the limit", {"0123456789x"}, 10, 50, ST_DATAERR, 0, 0, false, ""},
	{"over the limit in a later read",
	 {"01234", "56789", "x"},
	 10,
	 50,
	 ST_DATAERR,
	 0,
	 0,
	 false,
	 ""},
	{"a limit of 0 takes only empty input", {"x"}, 0, 50, ST_DATAERR, 0, 0, false, ""},
	{"head kept up to head_max + 2",
	 {"0123456789abcdef"},
	 100,
	 10,
	 ST_OK,
	 16,
	 0,
	 false,
	 "0123456789ab"},
	{"head filled over several reads",
	 {"0123", "4567", "89abcdef"},
	 100,
	 10,
	 ST_OK,
	 16,
	 0,
	 false,
	 "0123456789ab"},
	{"head_max of 0 keeps two bytes", {"\r\nbody"}, 100, 0, ST_OK, 6, 0, false, "\r\n"},
	{"head stops after the blank line",
	 {"A: b\r\n\r\n", "body\r\n"},
	 100,
	 50,
	 ST_OK,
	 14,
	 0,
	 false,
	 "A: b\r\n\r\n"},
	{"head stops after a bare-LF blank line",
	 {"A: b\n\n", "body\n"},
	 100,
	 50,
	 ST_OK,
	 11,
	 3,
	 false,
	 "A: b\n\n"},
	{"head stops after a body-only message",
	 {"\r\n", "body"},
	 100,
	 50,
	 ST_OK,
	 6,
	 0,
	 false,
	 "\r\n"},
	{"blank line split over reads",
	 {"A: b\r\n", "\r\nbody", "more"},
	 100,
	 50,
	 ST_OK,
	 16,
	 0,
	 false,
	 "A: b\r\n\r\nbody"},
};

/* A socket whose reads return one chunk each, all written and the write
 * side shut down, so the reader sees EOF after the last. */
static int
chunked_input(const char *const *chunks)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		bail("socketpair: %s", strerror(errno));
	for (size_t i = 0; i < MAX_CHUNKS && chunks[i] != NULL; i++)
		if (write(sv[1], chunks[i], strlen(chunks[i])) != (ssize_t)strlen(chunks[i]))
			bail("write chunk: %s", strerror(errno));
	close(sv[1]);
	return sv[0];
}

/* The whole private file, read back from its descriptor. */
static char *
spooled(const struct spool *sp, size_t *len)
{
	char *data = xmalloc(sp->size + 1);
	ssize_t n = pread(sp->fd, data, sp->size, 0);

	*len = n < 0 ? 0 : (size_t)n;
	data[*len] = '\0';
	return data;
}

/* The names in path, "." and ".." left out. */
static int
names_in(const char *path)
{
	struct dirent **list;
	int n = scandir(path, &list, NULL, NULL);

	for (int i = 0; i < n; i++)
		free(list[i]);
	if (n >= 0)
		free(list);
	return n - 2;
}

static void
check_case(size_t i)
{
	struct spool sp;
	struct error e;
	struct buf all;
	int in = chunked_input(cases[i].chunks);
	int rc;

	error_clear(&e);
	rc = spool_read(in, dir, cases[i].limit, cases[i].head_max, &sp, &e);
	close(in);
	if (cases[i].status != ST_OK) {
		ok(rc < 0 && e.status == cases[i].status, "%s: refused (%s)", cases[i].name, e.msg);
		is_int(-1, sp.fd, "%s: no spool file is left open", cases[i].name);
		return;
	}
	is_int(0, rc, "%s: read (%s)", cases[i].name, e.msg);
	is_int((long)cases[i].size, (long)sp.size, "%s: size", cases[i].name);
	is_int((long)cases[i].bare_lf, (long)sp.bare_lf, "%s: bare LFs", cases[i].name);
	is_int(cases[i].eightbit, sp.eightbit, "%s: 8-bit", cases[i].name);
	is_mem(cases[i].head, strlen(cases[i].head), sp.head.data, sp.head.len, "%s: head",
	       cases[i].name);
	buf_init(&all, 0);
	for (size_t k = 0; k < MAX_CHUNKS && cases[i].chunks[k] != NULL; k++)
		buf_puts(&all, cases[i].chunks[k]);
	{
		size_t len;
		char *data = spooled(&sp, &len);

		is_mem(all.data, all.len, data, len, "%s: the file holds the input", cases[i].name);
		free(data);
	}
	buf_free(&all);
	spool_close(&sp);
}

/* The file is private: mode 0600, no name in the directory. */
static void
test_private_file(void)
{
	const char *chunks[] = {"Subject: x\r\n\r\nhi\r\n", NULL};
	int in = chunked_input(chunks);
	struct spool sp;
	struct error e;
	struct stat st;

	is_int(0, spool_read(in, dir, 100, 50, &sp, &e), "private file: read");
	close(in);
	ok(fstat(sp.fd, &st) == 0 && (st.st_mode & 0777) == 0600, "the spool file is 0600");
	is_int(0, (long)st.st_nlink, "the spool file has no name");
	is_int(0, names_in(dir), "nothing is left in the directory");
	ok((fcntl(sp.fd, F_GETFD) & FD_CLOEXEC) != 0, "the spool file is close-on-exec");
	spool_close(&sp);
	is_int(-1, sp.fd, "spool_close leaves fd at -1");
	spool_close(&sp);
	ok(true, "spool_close twice is harmless");
}

/* A pipe, fed by a child, and a file: more than one read block, with a CR
 * as the last byte of the first block and LF the first of the second. */
static void
test_large_inputs(void)
{
	size_t len = BLOCK + 100;
	char *big = xmalloc(len);
	char *path = xasprintf("%s/input", dir);
	struct spool sp;
	struct error e;
	pid_t pid;
	int p[2], fd, status;

	error_clear(&e);
	memset(big, 'x', len);
	big[BLOCK - 1] = '\r';
	big[BLOCK] = '\n';
	big[BLOCK + 50] = '\n';
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, big, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0)
		bail("input file: %s", strerror(errno));
	is_int(0, spool_read(fd, dir, len, 20, &sp, &e), "a file of two blocks: read (%s)", e.msg);
	is_int((long)len, (long)sp.size, "... its size");
	is_int(1, (long)sp.bare_lf, "... CR at a block's end, LF at the next's start: not bare");
	is_int(22, (long)sp.head.len, "... head of head_max + 2 bytes");
	spool_close(&sp);
	lseek(fd, 0, SEEK_SET);
	ok(spool_read(fd, dir, len - 1, 20, &sp, &e) < 0 && e.status == ST_DATAERR &&
		   strstr(e.msg, "limit of 65635 bytes") != NULL,
	   "... one byte over the limit in the second block: %s", e.msg);
	close(fd);
	unlink(path);
	free(path);

	if (pipe2(p, O_CLOEXEC) < 0)
		bail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		bail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		_exit(write_all(p[1], big, len) == 0 ? 0 : 1);
	}
	close(p[1]);
	is_int(0, spool_read(p[0], dir, len, 20, &sp, &e), "a pipe: read (%s)", e.msg);
	close(p[0]);
	waitpid(pid, &status, 0);
	is_int((long)len, (long)sp.size, "... its size");
	is_int(1, (long)sp.bare_lf, "... its bare LFs");
	spool_close(&sp);
	free(big);
}

static void
test_errors(void)
{
	const char *chunks[] = {"x", NULL};
	struct spool sp;
	struct error e;
	int in, dfd;
	pid_t pid;
	int status;

	in = chunked_input(chunks);
	ok(spool_read(in, "/nonexistent/spool-t", 100, 10, &sp, &e) < 0 &&
		   e.status == ST_CANTCREAT && strstr(e.msg, "/nonexistent/spool-t") != NULL &&
		   strstr(e.msg, "TMPDIR") != NULL,
	   "a missing directory: ST_CANTCREAT naming it and TMPDIR: %s", e.msg);
	is_int(-1, sp.fd, "... no file");
	close(in);

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(spool_read(dfd, dir, 100, 10, &sp, &e) < 0 && e.status == ST_IOERR &&
		   strstr(e.msg, "standard input") != NULL,
	   "a read error: ST_IOERR: %s", e.msg);
	is_int(-1, sp.fd, "... the spool file is closed");
	close(dfd);

	/* A write error: a file size limit of 1 byte (EFBIG), in a child. */
	pid = fork();
	if (pid < 0)
		bail("fork: %s", strerror(errno));
	if (pid == 0) {
		struct rlimit rl = {1, 1};
		const char *two[] = {"ab", NULL};

		signal(SIGXFSZ, SIG_IGN);
		in = chunked_input(two);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(3);
		if (spool_read(in, dir, 100, 10, &sp, &e) == 0)
			_exit(1);
		_exit(e.status == ST_IOERR && strstr(e.msg, "spool file") != NULL && sp.fd == -1
			      ? 0
			      : 2);
	}
	waitpid(pid, &status, 0);
	is_int(0, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	       "a write error: ST_IOERR naming the spool file");
}

static void
test_default_dir(void)
{
	static const struct {
		const char *tmpdir; /* NULL: unset */
		const char *want;
	} dirs[] = {
		{NULL, "/tmp"},
		{"", "/tmp"},
		{"relative/dir", "/tmp"},
		{"/var/tmp", "/var/tmp"},
	};

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		if (dirs[i].tmpdir == NULL)
			unsetenv("TMPDIR");
		else
			setenv("TMPDIR", dirs[i].tmpdir, 1);
		is_string(dirs[i].want, spool_default_dir(), "TMPDIR=%s",
			  dirs[i].tmpdir ? dirs[i].tmpdir : "(unset)");
	}
}

int
main(void)
{
	plan_lazy();
	dir = test_tmpdir("spool-t");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_case(i);
	test_private_file();
	test_large_inputs();
	test_errors();
	test_default_dir();
	test_tmpdir_free(dir);
	return 0;
}
