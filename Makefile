# sluice build. `make` builds the XDP object, its skeleton and the sluice
# binary; `make test` runs the whole suite; `make V=1` shows commands.
.DELETE_ON_ERROR:
.SECONDARY:
.DEFAULT_GOAL := all

CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
ARCH_INC := /usr/include/$(shell uname -m)-linux-gnu

B := build
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Iuser -I$(B) $(EXTRA_CFLAGS)
LDFLAGS += $(EXTRA_LDFLAGS)
BPF_CFLAGS := -g -O2 -target bpf -Wall -Werror -Iinclude -I$(ARCH_INC) \
	-D__TARGET_ARCH_x86

LIBS := -lbpf -lelf -lz -ljansson -lyaml -lncursesw -lm -lmicrohttpd -lpthread

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(B)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(B)/%.skel.h,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/*.h) $(wildcard include/*.h)

LIB_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS := $(patsubst user/%.c,$(B)/user/%.o,$(LIB_SRCS))
USER_HDRS := $(wildcard user/*.h) $(wildcard include/*.h)

TEST_SRCS := $(wildcard tests/*_test.c)
TEST_BINS := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRCS))
TEST_HDRS := $(wildcard tests/*.h)

TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(patsubst tools/%.c,$(B)/tools/%,$(TOOL_SRCS))

.PHONY: all deps test demo bench clean
all: deps-stamp $(B)/sluice $(TEST_BINS) $(TOOL_BINS)

# Every target needs the packages; the stamp keeps `make` quick once
# they are in place, and `make deps` always checks again.
deps:
	$(Q)tools/deps.sh
deps-stamp: tools/deps.sh
	$(Q)tools/deps.sh && touch $@

$(B) $(B)/user $(B)/tests $(B)/tools:
	$(Q)mkdir -p $@

$(B)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) deps-stamp | $(B)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/%.skel.h: $(B)/%.bpf.o | $(B)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(B)/user/%.o: user/%.c $(USER_HDRS) $(SKELS) deps-stamp | $(B)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(B)/libsluice.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/sluice: $(B)/user/main.o $(B)/libsluice.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LIBS)

$(B)/tests/%: tests/%.c $(TEST_HDRS) $(B)/libsluice.a $(SKELS) | $(B)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $< $(B)/libsluice.a -o $@ $(LDFLAGS) $(LIBS) -lcmocka -lm

$(B)/tools/%: tools/%.c $(B)/libsluice.a $(SKELS) | $(B)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(B)/libsluice.a -o $@ $(LDFLAGS) $(LIBS) -lpthread -lm

test: all
	$(Q)tests/run.sh

demo: all
	$(Q)tools/demo.sh

# Benchmarks print a table and write build/bench/results.json; never part
# of `make test` (a smoke run of the tool is).
bench: all
	$(Q)tools/bench.sh

clean:
	$(Q)rm -rf $(B) deps-stamp

# The long packet fuzz of the data path: FUZZ_FRAMES (default 10000000),
# FUZZ_SEED (default from the clock, printed first), FUZZ_OUT, FUZZ_STRICT;
# see tools/fuzz_datapath.c. `make test` runs a short fixed-seed pass. The
# engine lives in the test file the tool #includes: rebuild on its change.
.PHONY: fuzz
$(B)/tools/fuzz_datapath: tests/fuzz_datapath_test.c $(TEST_HDRS) tests/pkt.c
fuzz: all
	$(Q)$(B)/tools/fuzz_datapath

# Sanitized builds with clang (neither links build/libsluice.a): libFuzzer
# harnesses tests/fuzz/NAME.c -> build/fuzz/NAME (`make fuzz-targets`,
# `make fuzz-long` runs each for FUZZ_SECONDS, default 600), and ASan +
# UBSan unit tests and CLI in build/asan/ (`make asan`).
SAN_CC ?= clang
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE \
	-Wall -Wextra -Werror -Iinclude -Iuser -I$(B) -Itests
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/*.c))
FUZZ_BINS := $(addprefix $(B)/fuzz/,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 600
ASAN_TESTS := parse_test maglev_test config_test rollout_test top_model_test
ASAN_BINS := $(B)/asan/sluice $(addprefix $(B)/asan/tests/,$(ASAN_TESTS))

.PHONY: fuzz-targets fuzz-long asan
$(B)/fuzz/obj/%.o: user/%.c $(USER_HDRS) $(SKELS) deps-stamp
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D) && $(SAN_CC) $(SAN_CFLAGS) $(SAN_FLAGS) \
		-fsanitize=fuzzer-no-link -c $< -o $@
$(B)/fuzz/libsluice.a: $(patsubst user/%.c,$(B)/fuzz/obj/%.o,$(LIB_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(FUZZ_BINS): $(B)/fuzz/%: tests/fuzz/%.c $(B)/fuzz/libsluice.a
	$(call msg,FUZZ-LD,$@)
	$(Q)$(SAN_CC) $(SAN_CFLAGS) $(SAN_FLAGS) -fsanitize=fuzzer $< \
		$(B)/fuzz/libsluice.a -o $@ $(LIBS)
fuzz-targets: deps-stamp $(FUZZ_BINS)
fuzz-long: fuzz-targets
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=-1 tests/fuzz_harness_test.sh

$(B)/asan/user/%.o: user/%.c $(USER_HDRS) $(SKELS) deps-stamp
	$(call msg,ASAN-CC,$@)
	$(Q)mkdir -p $(@D) && $(SAN_CC) $(SAN_CFLAGS) $(SAN_FLAGS) -c $< -o $@
$(B)/asan/libsluice.a: $(patsubst user/%.c,$(B)/asan/user/%.o,$(LIB_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(B)/asan/sluice: $(B)/asan/user/main.o $(B)/asan/libsluice.a
	$(call msg,ASAN-LD,$@)
	$(Q)$(SAN_CC) $(SAN_FLAGS) $^ -o $@ $(LIBS)
$(B)/asan/tests/%: tests/%.c $(TEST_HDRS) $(B)/asan/libsluice.a
	$(call msg,ASAN-CC,$@)
	$(Q)mkdir -p $(@D) && $(SAN_CC) $(SAN_CFLAGS) $(SAN_FLAGS) $< \
		$(B)/asan/libsluice.a -o $@ $(LIBS) -lcmocka -lm
asan: deps-stamp $(ASAN_BINS)
