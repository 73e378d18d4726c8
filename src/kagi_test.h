/*
 * kagi_test.h - the `kagi test` command (one authentication as NAS and supplicant).
 */
#ifndef KAGI_KAGI_TEST_H
#define KAGI_KAGI_TEST_H

/* kagi_test_main - argv[0] is "test". Returns the process exit code. */
int kagi_test_main(int argc, char **argv);

#endif
