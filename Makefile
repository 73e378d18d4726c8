# kagi - one non-recursive GNU Makefile.
#   make            build bin/kagid and bin/kagi
#   make run        install missing Debian packages, build, demo PKI + config, run kagid -X
#   make test       unit + integration tests (integration against an ASan/UBSan kagid; the
#                   threads test also against a ThreadSanitizer kagid)
#   make check      sanitizer build + cppcheck + clang-tidy
#   make deps       install missing Debian packages (root)

CC      ?= cc
OPT     ?= -O2
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -Werror
CFLAGS  := -std=c11 -D_GNU_SOURCE -pthread -g $(OPT) $(WARN) -Isrc -Isrc/compat $(EXTRA_CFLAGS)
# libfreeradius-radius is linked from its static archive (the same Debian package ships it): the
# shared one pulls in libpcap, and through it dbus, systemd, gcrypt and three compressors, none of
# which the codec uses (1 MB of idle RSS). The archive is a prerequisite of every link, so an
# upgrade of libfreeradius-dev relinks kagid and kagi at the next make. The regex and debug
# objects it brings need libpcre and libcap, which libfreeradius3 already depends on.
FR_A    := /usr/lib/freeradius/libfreeradius-radius.a
FR_DEP  := $(wildcard $(FR_A))
LDLIBS  := -Wl,--as-needed $(FR_A) -lssl -lcrypto -ltalloc -lconfuse -ljansson \
           -l:libpcre.so.3 -l:libcap.so.2 -lpthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TSAN    := -fsanitize=thread

DEB_PKGS := build-essential clang libclang-rt-14-dev libfreeradius-dev freeradius-common libssl-dev openssl libtalloc-dev \
            libcmocka-dev libconfuse-dev libjansson-dev eapoltest python3 procps libsqlite3-dev
TEST_PKGS := hostapd

LIB_SRCS := codec.c conf.c policy.c tls_ctx.c tls_pkey.c tls_conn.c session.c dupcache.c eap.c \
            eap_tls_common.c eap_tls_base.c eap_tls.c eap_peap.c eap_ttls.c eap_tunnel.c ttls_avp.c peap_tlv.c eap_mschapv2.c eap_gtc.c mschap.c peer.c auth_log.c log.c srcfilter.c server.c
LIB_OBJS      := $(LIB_SRCS:%.c=build/obj/%.o)
LIB_OBJS_ASAN := $(LIB_SRCS:%.c=build/asan/%.o)
LIB_OBJS_TSAN := $(LIB_SRCS:%.c=build/tsan/%.o)

# Only bin/kagi (and its unit test) link the certificate authority and SQLite.
KAGI_SRCS      := pki.c pki_store.c pki_files.c pki_x509.c kagi_test.c kagi_bench.c bench_ids.c bench_mix.c
KAGI_OBJS      := $(KAGI_SRCS:%.c=build/obj/%.o)
KAGI_OBJS_ASAN := $(KAGI_SRCS:%.c=build/asan/%.o)
KAGI_LDLIBS    := -lsqlite3 -lm

UNIT_TESTS := $(patsubst tests/unit/test_%.c,build/tests/unit_%,$(wildcard tests/unit/test_*.c))

FUZZ_SRCS  := codec.c eap.c eap_tls_common.c eap_tls_base.c eap_tls.c eap_peap.c eap_ttls.c eap_tunnel.c ttls_avp.c peap_tlv.c eap_mschapv2.c eap_gtc.c mschap.c session.c conf.c policy.c tls_ctx.c \
              tls_conn.c auth_log.c log.c peer.c
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Isrc -Isrc/compat -fsanitize=fuzzer,address,undefined
FUZZERS    := $(patsubst tests/fuzz/fuzz_%.c,build/fuzz/fuzz_%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TIME  ?= 60

.PHONY: all run test check deps test-deps clean demo asan tsan unit fuzz fuzz-smoke
all: bin/kagid bin/kagi

build/obj/%.o: src/%.c $(wildcard src/*.h) | build/obj
	$(CC) $(CFLAGS) -c $< -o $@
build/asan/%.o: src/%.c $(wildcard src/*.h) | build/asan
	$(CC) $(CFLAGS) $(SAN) -c $< -o $@
build/tsan/%.o: src/%.c $(wildcard src/*.h) | build/tsan
	$(CC) $(CFLAGS) $(TSAN) -c $< -o $@
build/obj build/asan build/tsan build/tests bin:
	mkdir -p $@

bin/kagid: build/obj/kagid.o $(LIB_OBJS) $(FR_DEP) | bin
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)
bin/kagi: build/obj/kagi.o $(LIB_OBJS) $(KAGI_OBJS) $(FR_DEP) | bin
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS) $(KAGI_LDLIBS)
build/asan/kagid: build/asan/kagid.o $(LIB_OBJS_ASAN) $(FR_DEP)
	$(CC) $(CFLAGS) $(SAN) -o $@ $(filter %.o,$^) $(LDLIBS)
asan: build/asan/kagid
# ThreadSanitizer kagid: tests/integration/test_threads.sh runs its load scenario on it too.
build/tsan/kagid: build/tsan/kagid.o $(LIB_OBJS_TSAN) $(FR_DEP)
	$(CC) $(CFLAGS) $(TSAN) -o $@ $(filter %.o,$^) $(LDLIBS)
tsan: build/tsan/kagid

build/tests/unit_%: tests/unit/test_%.c $(LIB_OBJS_ASAN) | build/tests
	$(CC) $(CFLAGS) $(SAN) -Wno-missing-prototypes -o $@ $< $(LIB_OBJS_ASAN) $(LDLIBS) -lcmocka
build/tests/unit_pki: tests/unit/test_pki.c $(LIB_OBJS_ASAN) $(KAGI_OBJS_ASAN) | build/tests
	$(CC) $(CFLAGS) $(SAN) -Wno-missing-prototypes -o $@ $< $(LIB_OBJS_ASAN) $(KAGI_OBJS_ASAN) \
		$(LDLIBS) $(KAGI_LDLIBS) -lcmocka
# kagi bench's modules (bench_ids, bench_mix) are linked from KAGI_OBJS too.
build/tests/unit_bench: tests/unit/test_bench.c $(LIB_OBJS_ASAN) $(KAGI_OBJS_ASAN) | build/tests
	$(CC) $(CFLAGS) $(SAN) -Wno-missing-prototypes -o $@ $< $(LIB_OBJS_ASAN) $(KAGI_OBJS_ASAN) \
		$(LDLIBS) $(KAGI_LDLIBS) -lcmocka
unit: $(UNIT_TESTS)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRCS:%=src/%) $(wildcard src/*.h tests/fuzz/*.h)
	@mkdir -p build/fuzz
	clang $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRCS:%=src/%) $(LDLIBS)

# make fuzz: each target for FUZZ_TIME seconds on a scratch copy of its seed corpus.
fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do n=$${f##*/fuzz_}; mkdir -p build/fuzz/corpus-$$n; \
		cp -n tests/fuzz/corpus/$$n/* build/fuzz/corpus-$$n/ 2>/dev/null; \
		$$f -max_total_time=$(FUZZ_TIME) -max_len=4096 build/fuzz/corpus-$$n || exit 1; done

# A short fuzz run in make test (the seeds plus a few seconds of mutation per target).
fuzz-smoke: $(FUZZERS)

# install-missing PACKAGES: apt-get install those not installed yet (root, or sudo).
define install-missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing missing Debian packages:" $$missing; \
		if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call install-missing,$(DEB_PKGS))

# make test also needs hostapd: tests/integration/test_interop.sh runs `kagi test` against its
# RADIUS server (Debian's hostapd service stays off without a configuration of its own).
test-deps: deps
	$(call install-missing,$(TEST_PKGS))

# Demo PKI (made with `kagi cert`) and client list, created only if absent. A certs/demo left by
# the former mkpki.sh demo (no inventory.db) is moved aside to certs/demo.old.
demo: bin/kagi
	@if [ ! -f certs/demo/inventory.db ]; then \
		if [ -e certs/demo ]; then rm -rf certs/demo.old && mv certs/demo certs/demo.old && \
			echo "Moved the old certs/demo (not a kagi cert PKI) to certs/demo.old"; fi; \
		bin/kagi cert --dir certs/demo init --name "Kagi Demo CA" >/dev/null && \
		bin/kagi cert --dir certs/demo issue server radius.kagi.test --dns radius.kagi.test >/dev/null && \
		bin/kagi cert --dir certs/demo issue client alice@example.org >/dev/null && \
		echo "Created the demo PKI in certs/demo (kagi cert --dir certs/demo list)" || \
		{ rm -rf certs/demo; exit 1; }; \
	fi
	@if [ ! -f raddb/clients.conf ]; then \
		umask 077; secret=$$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n'); \
		printf 'client localhost {\n    ipaddr = 127.0.0.1\n    secret = "%s"\n    shortname = localhost\n}\nclient localhost6 {\n    ipaddr = ::1\n    secret = "%s"\n    shortname = localhost6\n}\n' "$$secret" "$$secret" > raddb/clients.conf; \
		echo "Created raddb/clients.conf for 127.0.0.1 and ::1 with a random secret (read it there)"; \
	fi

run: deps all demo
	./bin/kagid -d raddb -X

test: test-deps all asan tsan unit fuzz-smoke
	KAGID=$(CURDIR)/build/asan/kagid KAGID_TSAN=$(CURDIR)/build/tsan/kagid bash tests/run

check: test-deps all asan tsan unit
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		-D_GNU_SOURCE -Isrc --suppress=missingIncludeSystem src
	KAGID=$(CURDIR)/build/asan/kagid KAGID_TSAN=$(CURDIR)/build/tsan/kagid bash tests/run

clean:
	rm -rf build bin

# make bench: kagid against FreeRADIUS and hostapd on loopback, in a private network namespace
# (bench/README.md). BENCH_SECONDS=10 per cell; writes bench/RESULTS.md.
.PHONY: bench
bench: deps all
	bash bench/run.sh
