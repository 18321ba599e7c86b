# ml-autoscaling - build, test, sanitize, bench.
#
#   make             build build/ml-autoscaling and the tools (test API server, ...)
#   make test        Criterion unit tests, then the integration tests
#   make sanitize    the same tests on an ASan+UBSan build (in build-san/)
#   make valgrind    the integration tests with the servers under valgrind (leaks are errors)
#   make tsan        the threaded tests on a ThreadSanitizer build (in build-tsan/)
#   make check       test + sanitize + valgrind + tsan + fuzz-check + the module graph check:
#                    what CI runs
#   make fuzz        the libFuzzer targets in tests/fuzz/ (clang; build-fuzz/), FUZZ_SECONDS each
#   make fuzz-check  replay their seeds and regression inputs, then FUZZ_CHECK_SECONDS each
#   make install     build/ml-autoscaling into $(DESTDIR)$(PREFIX)/bin (PREFIX=/usr/local)
#   make bench       benchmarks (print figures; they are not pass/fail tests)
#   make bench-loop  the leader's loop at N managed Deployments (bench/loop_scale.sh; figures)
#   make bench-loop-admission  admission latency while that loop runs (bench/loop_admission.sh)
#   make soak        a 3-minute sustained load run with the loop (bench/soak.sh; figures)
#   make demo        the local demo (no cluster)
#   make deps        install the Debian packages (scripts/deps.sh)
#   V=1              show the compiler command lines
#   CFLAGS=...       replaces only the optimisation/debug flags (default -O2 -g): the flags the
#                    build needs (-std, warnings, -Iinclude, packages) are always added
#
# Sources are discovered: every src/**/*.c outside src/cli/ goes into the library, every
# {tools,tests/doubles,bench}/<name>/*.c into a program build/<name> (tools ship, test doubles serve
# the tests, bench drivers the benchmarks), every tests/unit/*.c into build/unit-tests.

B        ?= build
V        ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif
SAN      ?= 0
TSAN     ?= 0
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
PKGS     := libmicrohttpd libcjson jansson yaml-0.1 libcurl openssl gnutls
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# `override`: a CFLAGS given on make's command line replaces the default -O2 -g but not what
# the build needs.
CFLAGS   ?= -O2 -g
override CFLAGS += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
            -Wmissing-prototypes -Wstrict-prototypes -Wvla \
            -Wno-format-nonliteral -Wno-format-truncation -fno-strict-aliasing -pthread -Iinclude $(PKG_CFLAGS) -MMD -MP
override LDLIBS += $(PKG_LIBS) -lm -pthread
ifeq ($(SAN),1)
override CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1
override LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(TSAN),1)
override CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer -O1
override LDFLAGS += -fsanitize=thread
endif

LIB_SRC  := $(shell find src -name '*.c' -not -path 'src/cli/*' | sort)
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
PROG_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard tools/*/*.c tests/doubles/*/*.c bench/*/*.c))))
TOOLS    := $(notdir $(PROG_DIRS))

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(B)/obj/%.o)
BIN      := $(B)/ml-autoscaling
LIBA     := $(B)/libmla.a
TOOL_BINS := $(TOOLS:%=$(B)/%)

.PHONY: all test unit integration sanitize check bench bench-loop bench-loop-admission demo deps clean certs valgrind tsan \
        modgraph install soak
all: $(BIN) $(TOOL_BINS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIBA)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LDLIBS)

define TOOL_RULE
$(B)/$(notdir $(1)): $$(patsubst %.c,$(B)/obj/%.o,$$(wildcard $(1)/*.c)) $(LIBA)
	@$$(if $$(Q),echo "  LINK    $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(PROG_DIRS),$(eval $(call TOOL_RULE,$(t))))

$(B)/unit-tests: $(UNIT_OBJ) $(LIBA)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(LIBA) $(LDLIBS) -lcriterion

unit: $(B)/unit-tests
	cd tests && ../$(B)/unit-tests --jobs 2

integration: all
	MLA_BUILD=$(abspath $(B)) MLA_SAN=$(SAN) bash tests/integration/run.sh

test: unit integration

sanitize:
	$(MAKE) B=build-san SAN=1 test

check: modgraph test sanitize valgrind tsan

# The module graph (directories of src/) has no cycle and docs/architecture.md shows it as it is.
modgraph:
	/usr/bin/python3 scripts/module-graph.py --check-doc docs/architecture.md

# ThreadSanitizer: build/mla-threads (queue, policy reload, arenas and metrics under concurrent
# use; Criterion itself cannot start under TSan), then the integration tests that run the worker,
# queue, lease, reconcile loop, policy reload and certificate reload inside `serve`. A report
# makes the process exit 66, which fails the test.
TSAN_TESTS := threads kube_serve kube_leader webhook_serve
tsan:
	$(MAKE) B=build-tsan TSAN=1 all
	for t in $(TSAN_TESTS); do \
	  MLA_BUILD=$(abspath build-tsan) MLA_TSAN=1 \
	  TSAN_OPTIONS="suppressions=$(abspath tests/tsan.supp) exitcode=66 history_size=4" \
	    bash tests/integration/run.sh $$t || exit 1; done

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ml-autoscaling

valgrind: all
	MLA_BUILD=$(abspath $(B)) MLA_VALGRIND=1 bash tests/integration/run.sh

bench: all
	MLA_BUILD=$(abspath $(B)) bash bench/run.sh

# The loop at 100 / 1,000 managed Deployments (N=... for others, e.g. N="100 1000 10000");
# waits for a 300 s grid point per N, so it is not part of `make bench`.
bench-loop: all
	MLA_BUILD=$(abspath $(B)) MLA_ROOT=$(abspath .) bash bench/loop_scale.sh $(N)

# Admission p50/p99 through serve while its loop runs pass 0 at N, then with the loop idle.
bench-loop-admission: all
	MLA_BUILD=$(abspath $(B)) MLA_ROOT=$(abspath .) bash bench/loop_admission.sh $(N)

soak: all
	MLA_BUILD=$(abspath $(B)) bash bench/soak.sh

demo: all
	MLA_BUILD=$(abspath $(B)) bash scripts/demo.sh --no-deps

deps:
	bash scripts/deps.sh

certs:
	bash certs/gen-dev-certs.sh certs/dev

clean:
	rm -rf build build-san build-tsan

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# ---- fuzzing (issue 12) ----
# libFuzzer targets tests/fuzz/<name>.c, built with clang and ASan+UBSan into build-fuzz/
# (the library too, with coverage). `make fuzz` runs each for FUZZ_SECONDS from its seed corpus
# tests/fuzz/corpus/<name>/ (new inputs go to a temporary directory, crashes to
# build-fuzz/crashes/); `make fuzz-check`, part of `make check`, replays every committed
# regression input (tests/fuzz/regress/<name>/) and seed, then fuzzes each FUZZ_CHECK_SECONDS.
FUZZ_CC  ?= clang
FUZZ_B   := build-fuzz
FUZZ_TARGETS := $(notdir $(basename $(wildcard tests/fuzz/*.c)))
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 10
ifeq ($(FUZZ),1)
override CFLAGS += -Wno-unknown-warning-option -fsanitize=fuzzer-no-link
endif
.PHONY: fuzz fuzz-build fuzz-check
$(B)/fuzz-%: tests/fuzz/%.c tests/fuzz/fuzz.h $(LIBA)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBA) $(LDFLAGS) $(LDLIBS)
fuzz-build:
	$(MAKE) B=$(FUZZ_B) SAN=1 FUZZ=1 CC=$(FUZZ_CC) $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz-%)
fuzz: fuzz-build
	bash tests/fuzz/run.sh $(FUZZ_B) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-check: fuzz-build
	bash tests/fuzz/run.sh $(FUZZ_B) $(FUZZ_CHECK_SECONDS) $(FUZZ_TARGETS)
check: fuzz-check
.PHONY: fuzz-clean
fuzz-clean:
	rm -rf $(FUZZ_B)
clean: fuzz-clean
