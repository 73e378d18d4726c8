/*
 * pki_files.h - a set of files replaced together, all or nothing (used by `kagi cert`).
 *
 * Each file is first written to a temporary file in its own directory (created with O_EXCL,
 * already at its final mode, fsync'd). pki_files_commit then renames every one into place; a
 * file that existed before is kept as a hard-linked backup until pki_files_done. If anything
 * fails, or the caller calls pki_files_rollback (say, because the inventory transaction that
 * goes with the files failed to commit), every path is put back as it was. A reader (kagid
 * re-reading the CRL) sees the old file or the new one, never a partial one.
 *
 * Freeing the set before pki_files_done rolls back: forgetting to finish is safe.
 */
#ifndef KAGI_PKI_FILES_H
#define KAGI_PKI_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <talloc.h>

struct pki_files;

enum pki_files_flags {
	PKI_FILES_REPLACE = 0,	 /* replace an existing file */
	PKI_FILES_NO_REPLACE = 1 /* fail the commit if the path exists (checked atomically) */
};

/* pki_files_new - an empty set, child of ctx. NULL when out of memory. */
struct pki_files *pki_files_new(TALLOC_CTX *ctx);

/*
 * pki_files_add - stage path with len bytes of data and the given mode (0600 for keys). The
 * data is on disk (fsync'd) in a temporary file when this returns 0; -1 with err set otherwise.
 */
int pki_files_add(struct pki_files *fs, const char *path, const void *data, size_t len,
		  mode_t mode, enum pki_files_flags flags, char *err, size_t errlen);

/*
 * pki_files_commit - move every staged file into place and fsync the directories. On failure
 * the paths already moved are restored and -1 is returned with err set.
 */
int pki_files_commit(struct pki_files *fs, char *err, size_t errlen);

/* pki_files_rollback - undo a commit (or drop what is staged): every path as it was before. */
void pki_files_rollback(struct pki_files *fs);

/* pki_files_done - keep the committed files and remove the backups. */
void pki_files_done(struct pki_files *fs);

/*
 * pki_files_mkdirs - create path and its missing parents with mode (like mkdir -p). *created is
 * set to true if path itself did not exist. Returns 0 or -1 with err set.
 */
int pki_files_mkdirs(const char *path, mode_t mode, bool *created, char *err, size_t errlen);

#endif
