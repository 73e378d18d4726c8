/*
 * pki_files.c - files replaced together, all or nothing (see pki_files.h).
 *
 * rename(2) within one directory is atomic: a reader opens either the old file or the new one.
 * The backup of a replaced file is a second hard link to it, so making it copies nothing and
 * putting it back is one more rename.
 */
#include "pki_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum file_state {
	FILE_STAGED, /* data in tmp */
	FILE_MOVED,  /* tmp renamed to path; bak holds the previous file, if any */
};

struct pki_file {
	char *path;
	char *dir;
	char *tmp;
	char *bak; /* NULL: path did not exist before */
	enum pki_files_flags flags;
	enum file_state state;
};

enum set_state {
	SET_OPEN,
	SET_COMMITTED,
	SET_DONE,
};

struct pki_files {
	struct pki_file *f;
	unsigned n;
	enum set_state state;
};

static int
files_free(struct pki_files *fs)
{
	if (fs->state != SET_DONE)
		pki_files_rollback(fs);
	return 0;
}

struct pki_files *
pki_files_new(TALLOC_CTX *ctx)
{
	struct pki_files *fs = talloc_zero(ctx, struct pki_files);

	if (fs)
		talloc_set_destructor(fs, files_free);
	return fs;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int
pki_files_add(struct pki_files *fs, const char *path, const void *data, size_t len,
	      mode_t mode, enum pki_files_flags flags, char *err, size_t errlen)
{
	struct pki_file *nf, *e;
	const char *slash = strrchr(path, '/');
	int fd, saved;

	if (fs->state != SET_OPEN) {
		snprintf(err, errlen, "internal error: file set already committed");
		return -1;
	}
	nf = talloc_realloc(fs, fs->f, struct pki_file, fs->n + 1);
	if (!nf)
		goto oom;
	fs->f = nf;
	e = &fs->f[fs->n];
	memset(e, 0, sizeof(*e));
	e->path = talloc_strdup(fs->f, path);
	e->dir = slash ? talloc_strndup(fs->f, path, (size_t)(slash - path + (slash == path)))
		       : talloc_strdup(fs->f, ".");
	/* A dot file beside the target: same file system, so rename is atomic. */
	e->tmp = talloc_asprintf(fs->f, "%s/.%s.tmp.XXXXXX", e->dir, slash ? slash + 1 : path);
	if (!e->path || !e->dir || !e->tmp)
		goto oom;
	e->flags = flags;
	/* mkostemp: O_CREAT | O_EXCL, mode 0600 until fchmod below. */
	fd = mkostemp(e->tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a file in %s: %s", e->dir, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(e->tmp);
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
		return -1;
	}
	if (close(fd) < 0) {
		saved = errno;
		unlink(e->tmp);
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
		return -1;
	}
	e->state = FILE_STAGED;
	fs->n++;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int
file_move(struct pki_files *fs, struct pki_file *e, char *err, size_t errlen)
{
	struct stat st;

	if (e->flags & PKI_FILES_NO_REPLACE) {
		/* link(2) fails with EEXIST instead of replacing: an atomic "create if absent". */
		if (link(e->tmp, e->path) < 0) {
			snprintf(err, errlen, "%s: %s", e->path,
				 errno == EEXIST ? "already exists" : strerror(errno));
			return -1;
		}
		unlink(e->tmp);
		e->state = FILE_MOVED;
		return 0;
	}
	if (lstat(e->path, &st) == 0) {
		e->bak = talloc_asprintf(fs->f, "%s.bak", e->tmp);
		if (!e->bak) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (link(e->path, e->bak) < 0) {
			snprintf(err, errlen, "cannot keep a backup of %s: %s", e->path,
				 strerror(errno));
			TALLOC_FREE(e->bak);
			return -1;
		}
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", e->path, strerror(errno));
		return -1;
	}
	if (rename(e->tmp, e->path) < 0) {
		snprintf(err, errlen, "cannot replace %s: %s", e->path, strerror(errno));
		if (e->bak) {
			unlink(e->bak);
			TALLOC_FREE(e->bak);
		}
		return -1;
	}
	e->state = FILE_MOVED;
	return 0;
}

static void
sync_dirs(const struct pki_files *fs)
{
	unsigned i, j;

	for (i = 0; i < fs->n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(fs->f[j].dir, fs->f[i].dir) == 0)
				break;
		if (j == i)
			sync_dir(fs->f[i].dir);
	}
}

int
pki_files_commit(struct pki_files *fs, char *err, size_t errlen)
{
	unsigned i;

	if (fs->state != SET_OPEN) {
		snprintf(err, errlen, "internal error: file set already committed");
		return -1;
	}
	for (i = 0; i < fs->n; i++) {
		if (file_move(fs, &fs->f[i], err, errlen) < 0) {
			pki_files_rollback(fs);
			return -1;
		}
	}
	sync_dirs(fs);
	fs->state = SET_COMMITTED;
	return 0;
}

void
pki_files_rollback(struct pki_files *fs)
{
	unsigned i;

	if (fs->state == SET_DONE)
		return;
	/* In reverse, so that the first file staged is the last one restored. */
	for (i = fs->n; i-- > 0;) {
		struct pki_file *e = &fs->f[i];

		if (e->state == FILE_STAGED) {
			unlink(e->tmp);
		} else if (e->bak) {
			/* Best effort: if even this fails, the backup stays beside it. */
			if (rename(e->bak, e->path) == 0)
				TALLOC_FREE(e->bak);
		} else {
			unlink(e->path);
		}
	}
	sync_dirs(fs);
	fs->n = 0;
	fs->state = SET_DONE;
}

void
pki_files_done(struct pki_files *fs)
{
	unsigned i;

	if (fs->state == SET_OPEN) {
		pki_files_rollback(fs);
		return;
	}
	if (fs->state != SET_COMMITTED)
		return;
	for (i = 0; i < fs->n; i++)
		if (fs->f[i].bak)
			unlink(fs->f[i].bak);
	sync_dirs(fs);
	fs->state = SET_DONE;
}

int
pki_files_mkdirs(const char *path, mode_t mode, bool *created, char *err, size_t errlen)
{
	char buf[4096];
	size_t len = strlen(path), i;
	struct stat st;

	*created = false;
	if (len == 0 || len >= sizeof(buf)) {
		snprintf(err, errlen, "bad directory name \"%s\"", path);
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) == 0) {
			if (i == len || strspn(buf + i + 1, "/") == len - i - 1)
				*created = true;
		} else if (errno != EEXIST) {
			snprintf(err, errlen, "cannot create directory %s: %s", buf, strerror(errno));
			return -1;
		}
		if (i < len)
			buf[i] = '/';
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", path);
		return -1;
	}
	return 0;
}
