# ml-autoscaling - build, test, sanitize, bench.
#
#   make             build build/ml-autoscaling and the tools (test API server, ...)
#   make test        Criterion unit tests, then the integration tests
#   make sanitize    the same tests on an ASan+UBSan build (in build-san/)
#   make valgrind    the integration tests with the servers under valgrind (leaks are errors)
#   make check       test + sanitize + valgrind: what CI runs
#   make bench       benchmarks (print figures; they are not pass/fail tests)
#   make soak        a 3-minute sustained load run with the loop (bench/soak.sh; figures)
#   make demo        the local demo (no cluster)
#   make deps        install the Debian packages (scripts/deps.sh)
#   V=1              show the compiler command lines
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
CC       ?= cc
PKGS     := libmicrohttpd libcjson jansson yaml-0.1 libcurl openssl gnutls
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
            -Wno-format-nonliteral -Wno-format-truncation -fno-strict-aliasing -pthread -Iinclude $(PKG_CFLAGS) -MMD -MP
LDLIBS   += $(PKG_LIBS) -lm -pthread
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1
LDFLAGS  += -fsanitize=address,undefined
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

.PHONY: all test unit integration sanitize check bench demo deps clean certs valgrind soak
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

check: test sanitize valgrind

valgrind: all
	MLA_BUILD=$(abspath $(B)) MLA_VALGRIND=1 bash tests/integration/run.sh

bench: all
	MLA_BUILD=$(abspath $(B)) bash bench/run.sh

soak: all
	MLA_BUILD=$(abspath $(B)) bash bench/soak.sh

demo: all
	MLA_BUILD=$(abspath $(B)) bash scripts/demo.sh --no-deps

deps:
	bash scripts/deps.sh

certs:
	bash certs/gen-dev-certs.sh certs/dev

clean:
	rm -rf build build-san

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
