# qscd-agent — build, test, install.
#
# Every output goes under build/.  The agent is built as one static library
# per part, each compiled with the include path of the parts it may use and
# nothing else, so that a forbidden include (the token layer reaching HTTP,
# the order client reaching PKCS#11, anything below the CLI reaching cli.h)
# fails to compile.  Sources are picked up by directory, so adding a file to
# a part never means editing this Makefile:
#   src/PART/*.c, pkcs11/*.c -> build/lib/libqscd-PART.a (src/cli/main.c: main())
#   include/PART/*.h         -> the interface of PART to the parts above it
#   tests/unit/test-*.c      -> one cmocka binary each, linked against the agent
#   tests/sim/*.c            -> build/qscd-sim, the CertCentral simulator
#   tests/p11fault/*.c       -> build/libqscd-p11fault.so, the fault module
#   tests/integration/test-*.sh -> driven by tests/run-integration.sh

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/qscd-agent
SYSCONFDIR ?= /etc
UDEVDIR ?= /usr/lib/udev/rules.d
UNITDIR ?= /usr/lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
DESTDIR ?=

CC      ?= cc
PKGS     = libcurl libcjson openssl p11-kit-1 libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcurl is not linked: src/http/http_curl.c loads it with the first HTTP
# client (a token command never pays for its chain of libraries).
PKG_LIBS   := $(shell pkg-config --libs $(filter-out libcurl,$(PKGS)) 2>/dev/null)
PCSC_CFLAGS := $(shell pkg-config --cflags libpcsclite 2>/dev/null)
PCSC_LIBS   := $(shell pkg-config --libs libpcsclite 2>/dev/null)
SIM_CFLAGS := $(shell pkg-config --cflags libmicrohttpd libcjson openssl 2>/dev/null)
SIM_LIBS   := $(shell pkg-config --libs libmicrohttpd libcjson openssl 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN    = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -DQSCD_VERSION=\"0.1.0\" -DQSCD_SYSCONFDIR=\"$(SYSCONFDIR)\" \
             $(PKG_CFLAGS) $(PCSC_CFLAGS) -fstack-protector-strong -fPIC $(EXTRA_CFLAGS)
LIBS    = $(PKG_LIBS) $(PCSC_LIBS) -ldl -lpthread

# Variant: "release" (build/), "hooks" (build/hooks/, test-only crash hooks
# compiled in), "asan" (build/asan/, ASan+UBSan, hooks too).
B ?= build
OBJDIR = $(B)/obj

# --- the parts -----------------------------------------------------------
#
# PARTS, lowest first; USES_<part> is the include path it is compiled with:
# its own interface and those of the parts it may call (design.md,
# "Architecture").  The agent links the libraries highest first.
.DEFAULT_GOAL := all

PARTS = common http order job journal store x509 token core watch cli
USES_common  = common
USES_http    = http common
USES_order   = order http common
USES_job     = job
USES_journal = journal job common
USES_store   = store journal job common
USES_x509    = x509 common
USES_token   = token x509 common
USES_core    = core order store journal job token x509 common
USES_watch   = watch core order store journal job token x509 common
USES_cli     = cli watch core order http store journal job token x509 common
part_dir = $(if $(filter token,$(1)),pkcs11,src/$(1))
part_lib = $(B)/lib/libqscd-$(1).a

define part_rules
$(1)_SRCS := $$(filter-out src/cli/main.c,$$(wildcard $$(call part_dir,$(1))/*.c))
$(1)_OBJS := $$(patsubst %.c,$$(OBJDIR)/%.o,$$($(1)_SRCS))
$$($(1)_OBJS): PART_CFLAGS = $$(addprefix -Iinclude/,$$(USES_$(1))) -I$$(call part_dir,$(1))
$$(call part_lib,$(1)): $$($(1)_OBJS)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach p,$(PARTS),$(eval $(call part_rules,$(p))))

MAIN_OBJ   = $(OBJDIR)/src/cli/main.o
$(MAIN_OBJ): PART_CFLAGS = $(addprefix -Iinclude/,$(USES_cli)) -Isrc/cli
PART_LIBS  = $(foreach p,$(call reverse,$(PARTS)),$(call part_lib,$(p)))
reverse    = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
LIB_OBJS   = $(foreach p,$(PARTS),$($(p)_OBJS))
AGENT_OBJS = $(MAIN_OBJ) $(LIB_OBJS)
# The include path of one part, for tests/integration/test-layering.sh.
part-cflags:
	@echo $(addprefix -Iinclude/,$(USES_$(PART))) -I$(call part_dir,$(PART))

# docs/architecture.dot: who may include whom, drawn from USES_<part>
# (test-layering.sh keeps the committed file equal to this output).
architecture-dot:
	@echo '// Generated from the Makefile (USES_<part>) by make architecture-dot.'
	@echo 'digraph parts {'
	@echo '  rankdir=TB; node [shape=box, fontname="Helvetica"];'
	@$(foreach p,$(PARTS),echo '  $(p) [label="$(call part_dir,$(p))/"];';)
	@$(foreach p,$(PARTS),$(foreach u,$(filter-out $(p),$(USES_$(p))),echo '  $(p) -> $(u);';))
	@echo '}'

# Tests and benchmarks see every interface and every part's private headers.
TEST_CFLAGS = $(addprefix -Iinclude/,$(PARTS)) $(foreach p,$(PARTS),-I$(call part_dir,$(p)))
UNIT_SRCS  = $(wildcard tests/unit/test-*.c)
UNIT_BINS  = $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
SIM_SRCS   = $(wildcard tests/sim/*.c)
SIM_OBJS   = $(patsubst %.c,$(OBJDIR)/%.o,$(SIM_SRCS))
FAULT_SRCS = $(wildcard tests/p11fault/*.c)
FAULT_OBJS = $(patsubst %.c,$(OBJDIR)/%.o,$(FAULT_SRCS))
MAN_SRCS   = $(wildcard docs/man/*.scd)
MAN_PAGES  = $(patsubst docs/man/%.scd,$(B)/man/%,$(MAN_SRCS))
# Bench drivers: tests/bench/*.c -> $(B)/bench/<name>, linked like the unit tests.
BENCH_SRCS = $(wildcard tests/bench/*.c)
BENCH_BINS = $(patsubst tests/bench/%.c,$(B)/bench/%,$(BENCH_SRCS))

.PHONY: part-cflags architecture-dot all agent sim fault unit-bins bench-bins man deps check check-unit check-integration \
        check-asan check-files demo bench fuzz install clean hooks asan

all: $(B)/qscd-agent man

agent: $(B)/qscd-agent

$(B)/qscd-agent: $(MAIN_OBJ) $(PART_LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $(MAIN_OBJ) $(PART_LIBS) $(LIBS) $(LDFLAGS)

$(B)/libqscd.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(OBJDIR)/tests/sim/%.o: tests/sim/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SIM_CFLAGS) -MMD -MP -c -o $@ $<

$(OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(PART_CFLAGS) -MMD -MP -c -o $@ $<

sim: $(B)/qscd-sim
$(B)/qscd-sim: $(SIM_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(SIM_LIBS) -lpthread $(LDFLAGS)

fault: $(B)/libqscd-p11fault.so
$(B)/libqscd-p11fault.so: $(FAULT_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $^ -ldl -lpthread $(LDFLAGS)

unit-bins: $(UNIT_BINS)
$(B)/tests/test-%: tests/unit/test-%.c $(B)/libqscd.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests/unit -o $@ $< $(B)/libqscd.a $(CMOCKA_LIBS) $(LIBS) $(LDFLAGS)

bench-bins: $(BENCH_BINS)
# The floor of token install: PKCS#11 through dlopen and libc, nothing of the
# agent, so the dynamic loader's work is the module's only.
$(B)/bench/floor_install: tests/bench/floor_install.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< -ldl $(LDFLAGS)
$(B)/bench/%: tests/bench/%.c tests/bench/bench_common.h $(B)/libqscd.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests/bench -o $@ $< $(B)/libqscd.a $(LIBS) $(LDFLAGS)

man: $(MAN_PAGES)
$(B)/man/%: docs/man/%.scd
	@mkdir -p $(@D)
	scdoc < $< > $@

-include $(AGENT_OBJS:.o=.d) $(SIM_OBJS:.o=.d) $(FAULT_OBJS:.o=.d)

# --- variants ---------------------------------------------------------------

hooks:
	$(MAKE) B=build/hooks EXTRA_CFLAGS="-DQSCD_TEST_HOOKS" build/hooks/qscd-agent

asan:
	$(MAKE) B=build/asan CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	  EXTRA_CFLAGS="-DQSCD_TEST_HOOKS -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" \
	  build/asan/qscd-agent build/asan/qscd-sim unit-bins

# --- dependencies -----------------------------------------------------------

deps:
	@tests/deps.sh

# --- tests ------------------------------------------------------------------

JOBS ?= $(shell nproc 2>/dev/null || echo 2)

check: deps
	$(MAKE) -j$(JOBS) all sim fault unit-bins bench-bins
	$(MAKE) -j$(JOBS) hooks
	$(MAKE) -j$(JOBS) asan
	tests/run-all.sh

check-unit: all unit-bins
	tests/run-unit.sh build

check-integration: all sim fault hooks unit-bins
	tests/run-integration.sh build

demo: deps
	$(MAKE) all sim
	tests/demo.sh

bench: all sim fault bench-bins
	tests/bench/run.sh $(B)

# make fuzz [FUZZ_SECONDS=N]: every fuzz target for N seconds each (default 60).
FUZZ_SECONDS ?= 60
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECONDS)

# --- install ----------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(B)/qscd-agent $(DESTDIR)$(BINDIR)/qscd-agent
	for p in $(MAN_PAGES); do \
	  s=$${p##*.}; install -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/; done
	if [ -d udev ] && ls udev/*.rules >/dev/null 2>&1; then \
	  install -d $(DESTDIR)$(UDEVDIR) && install -m 0644 udev/*.rules $(DESTDIR)$(UDEVDIR)/; fi
	# Units name the binary as /usr/bin/qscd-agent; point them at $(BINDIR).
	for u in $$(ls udev/*.service udev/*.path udev/*.socket udev/*.target udev/*.timer 2>/dev/null); do \
	  install -d $(DESTDIR)$(UNITDIR) && \
	  install -m 0644 $$u $(DESTDIR)$(UNITDIR)/ && \
	  sed -i 's|/usr/bin/qscd-agent|$(BINDIR)/qscd-agent|g' $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; done
	if ls udev/*.sysusers >/dev/null 2>&1; then \
	  install -d $(DESTDIR)$(SYSUSERSDIR) && \
	  for f in udev/*.sysusers; do install -m 0644 $$f $(DESTDIR)$(SYSUSERSDIR)/$$(basename $$f .sysusers).conf; done; fi
	if [ -f docs/qscd-agent.conf.example ]; then \
	  install -d $(DESTDIR)$(SYSCONFDIR)/qscd-agent && \
	  install -m 0644 docs/qscd-agent.conf.example $(DESTDIR)$(SYSCONFDIR)/qscd-agent/qscd-agent.conf.example; fi
	install -d $(DESTDIR)$(DOCDIR)
	for f in docs/helpdesk.md docs/lifecycle.svg docs/lifecycle.dot; do \
	  if [ -f $$f ]; then install -m 0644 $$f $(DESTDIR)$(DOCDIR)/ || exit 1; fi; done

clean:
	rm -rf build
