# studiod - see README.md. `make run` and `make test` are the two commands.
#
# Two builds share these rules: the release build in build/ (make run) and
# the test build in build/test/ (sanitizers + test hooks; make test).

PKGS     := libevent jansson sqlite3 libsodium libsystemd
CC       ?= cc
BUILD    ?= build
MODE     ?= release
PYTHON   ?= python3
CONFIG   ?= config.ini
PREFIX   ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR  ?= /lib/systemd/system

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS   := -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -MMD -MP \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(MODE),valgrind)
CFLAGS   += -O1 -g -DSTUDIOD_TEST_HOOKS
else ifeq ($(MODE),fuzz)
CFLAGS   += -O1 -g -fno-omit-frame-pointer \
            -fsanitize=fuzzer-no-link,address,undefined \
            -fno-sanitize-recover=all -DSTUDIOD_FUZZ -Wno-unused-command-line-argument
else ifeq ($(MODE),test)
CFLAGS   += -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
            -fno-sanitize-recover=all -DSTUDIOD_TEST_HOOKS
LDFLAGS  += -fsanitize=address,undefined
else
CFLAGS   += -O2 -g
endif

SRC        := $(sort $(shell find src -name '*.c'))
LIB_SRC    := $(filter-out src/main.c,$(SRC))
MIGRATIONS := $(sort $(wildcard migrations/*.sql))
GEN        := $(BUILD)/gen/migrations.c
LIB_OBJ    := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(BUILD)/obj/gen/migrations.o
UNIT_SRC   := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ   := $(patsubst tests/unit/%.c,$(BUILD)/obj/tests/%.o,$(UNIT_SRC))
FUZZERS    := fuzz_http fuzz_config
REPLAYS    := $(patsubst %,$(BUILD)/%_replay,$(FUZZERS))
FUZZ_SECONDS ?= 60

.PHONY: all deps run install test test-unit test-e2e test-fuzz-replay test-valgrind soak fuzz \
        clean format

all: $(BUILD)/studiod

$(BUILD)/studiod: $(BUILD)/obj/main.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit_tests: $(UNIT_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# A fuzz target with a plain main() that replays corpus files: make test
# runs the corpus under the sanitizers without needing clang.
$(BUILD)/%_replay: $(BUILD)/obj/fuzz/%.o $(BUILD)/obj/fuzz/replay.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags check) -c -o $@ $<

$(BUILD)/obj/gen/migrations.o: $(GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(GEN): $(MIGRATIONS) tools/embed-migrations
	@mkdir -p $(dir $@)
	tools/embed-migrations $@ $(MIGRATIONS)

deps:
	@tools/deps.sh

# make install [PREFIX=/usr/local] [DESTDIR=...]: the binary (the migrations
# are embedded in it), the systemd units and, unless one is there already,
# /etc/studiod/studiod.ini. INSTALL_BIN installs another build's binary.
INSTALL_BIN ?= $(BUILD)/studiod
install: $(INSTALL_BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR)/studiod \
	    $(DESTDIR)$(UNITDIR)
	install -m 0755 $(INSTALL_BIN) $(DESTDIR)$(PREFIX)/bin/studiod
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    dist/systemd/studiod.service > $(DESTDIR)$(UNITDIR)/studiod.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/studiod.service
	install -m 0644 dist/systemd/studiod.socket $(DESTDIR)$(UNITDIR)/studiod.socket
	test -e $(DESTDIR)$(SYSCONFDIR)/studiod/studiod.ini || \
	    install -m 0644 dist/studiod.ini $(DESTDIR)$(SYSCONFDIR)/studiod/studiod.ini

# Build, then run on 127.0.0.1:8088 with data/studiod.db (see config.ini).
run: deps
	@$(MAKE) --no-print-directory $(BUILD)/studiod
	./$(BUILD)/studiod --config $(CONFIG)

# Every test: Check unit suites and the end-to-end suite, both against the
# sanitizer build.
test: deps
	@$(MAKE) --no-print-directory MODE=test BUILD=build/test \
	    build/test/studiod build/test/unit_tests \
	    $(patsubst %,build/test/%_replay,$(FUZZERS))
	@$(MAKE) --no-print-directory test-unit test-fuzz-replay test-e2e

test-unit:
	build/test/unit_tests

test-fuzz-replay:
	@for f in $(FUZZERS); do \
	    echo "replaying tests/fuzz/corpus/$${f#fuzz_} through $$f"; \
	    build/test/$${f}_replay tests/fuzz/corpus/$${f#fuzz_} || exit 1; \
	done

test-e2e:
	$(PYTHON) tests/e2e/run.py --bin build/test/studiod

# The unit suites and the end-to-end suites with the server under valgrind
# (a build without sanitizers). Tests that measure time (the payment
# breaker and timeouts, the load and crash loops) are left out: valgrind
# slows the server twenty times. Any valgrind error or definite leak fails.
VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite --show-leak-kinds=definite
VALGRIND_E2E := test_yoga test_auth test_hostile test_idempotency \
            test_delete_class test_crash test_check test_schedule test_config \
            test_race CreditsTest test_places test_rooms test_reviews \
            test_dashboard test_rebuild test_calendar
test-valgrind: deps
	@tools/deps.sh --valgrind
	@$(MAKE) --no-print-directory MODE=valgrind BUILD=build/valgrind \
	    build/valgrind/studiod build/valgrind/unit_tests
	CK_FORK=no $(VALGRIND) build/valgrind/unit_tests
	STUDIOD_WRAPPER="$(VALGRIND)" $(PYTHON) tests/e2e/run.py \
	    --bin build/valgrind/studiod $(patsubst %,-k %,$(VALGRIND_E2E))

# The long crash loop: 25 rounds of SIGKILL under load (make test runs 3).
soak: deps
	@$(MAKE) --no-print-directory MODE=test BUILD=build/test build/test/studiod
	STUDIOD_CRASH_ITERATIONS=$${STUDIOD_CRASH_ITERATIONS:-25} \
	STUDIOD_LOAD_SECONDS=$${STUDIOD_LOAD_SECONDS:-15} \
	    $(PYTHON) tests/e2e/run.py --bin build/test/studiod \
	    -k test_crash_loop -k test_load

# libFuzzer (clang): each target runs FUZZ_SECONDS, starting from
# tests/fuzz/corpus/<name>; new inputs go to build/fuzz/corpus/<name>,
# crashes to build/fuzz/crash-*. Copy a crash into tests/fuzz/corpus/ to
# keep it as a regression input.
fuzz: deps
	@tools/deps.sh --fuzz
	@$(MAKE) --no-print-directory MODE=fuzz BUILD=build/fuzz CC=clang \
	    $(patsubst %,build/fuzz/%,$(FUZZERS))
	@for f in $(FUZZERS); do \
	    c=$${f#fuzz_}; mkdir -p build/fuzz/corpus/$$c; \
	    echo "fuzzing $$f for $(FUZZ_SECONDS) s"; \
	    build/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) \
	        -artifact_prefix=build/fuzz/ build/fuzz/corpus/$$c \
	        tests/fuzz/corpus/$$c || exit 1; \
	done

build/fuzz/fuzz_%: build/fuzz/obj/fuzz/fuzz_%.o $(LIB_OBJ)
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

clean:
	rm -rf build

format:
	clang-format -i $(SRC) $(UNIT_SRC) $(wildcard src/*/*.h src/*/*/*.h)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Benchmark (bench/run.sh): the release build under wrk, results in
# bench/results.md. BENCH_PRELOAD=N first books N reservations.
BENCH_PRELOAD ?= 0
.PHONY: bench
bench:
	@tools/deps.sh --bench
	@$(MAKE) --no-print-directory MODE=release BUILD=build build/studiod
	BENCH_PRELOAD=$(BENCH_PRELOAD) bench/run.sh
