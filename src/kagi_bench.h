/*
 * kagi_bench.h - the `kagi bench` command (concurrent EAP load generator).
 */
#ifndef KAGI_KAGI_BENCH_H
#define KAGI_KAGI_BENCH_H

/* kagi_bench_main - argv[0] is "bench". Returns the process exit code. */
int kagi_bench_main(int argc, char **argv);

#endif
