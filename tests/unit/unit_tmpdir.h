/*
 * unit_tmpdir.h - a scratch directory for the unit tests that write files: made with mkdtemp
 * under /tmp and removed with everything in it. Header-only (static inline), included after
 * cmocka.h by the tests that use it.
 */
#ifndef KAGI_UNIT_TMPDIR_H
#define KAGI_UNIT_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define UNIT_TMPDIR_LEN 64 /* the size of the buffer unit_tmpdir_make fills */

static inline int
unit_tmpdir_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* unit_tmpdir_make - a new directory /tmp/kagi-unit-NAME.XXXXXX, its path in dir. 0 or -1. */
static inline int
unit_tmpdir_make(char dir[UNIT_TMPDIR_LEN], const char *name)
{
	snprintf(dir, UNIT_TMPDIR_LEN, "/tmp/kagi-unit-%s.XXXXXX", name);
	return mkdtemp(dir) ? 0 : -1;
}

/* unit_tmpdir_remove - remove dir and everything below it. */
static inline void
unit_tmpdir_remove(const char *dir)
{
	nftw(dir, unit_tmpdir_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* unit_write_text - create (or replace) path holding text; the test fails if it cannot. */
static inline void
unit_write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

#endif
