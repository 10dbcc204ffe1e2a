# SPDX-License-Identifier: BSD-3-Clause
# mailtap: the one entry point. `make` builds everything into build/;
# `make test`, `make demo`, `make bench`, `make fuzz` install what they need.

CC       ?= gcc
CLANG    ?= clang
BUILD    ?= build
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
BASE     := -std=gnu11 -D_GNU_SOURCE -fno-strict-aliasing $(WARN) -Ifirmware
FUZZ_SECONDS ?= 20
LIBS     := -lmbedtls -lmbedx509 -lmbedcrypto -lpcap -lpthread -lm

DPDK_CFLAGS = $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS   = $(shell pkg-config --libs libdpdk 2>/dev/null)

# The fast path: plain C, no DPDK, shared by mailtapd, tests, fuzzers, bench.
FW_SRCS  := $(filter-out firmware/main.c,$(wildcard firmware/*.c))
FW_HDRS  := $(wildcard firmware/*.h drivers/*.h)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
ASAN_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/asan/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

COLL_SRCS := $(wildcard collector/*.c)
COLL_LIB_SRCS := $(filter-out collector/main.c,$(COLL_SRCS))

PROGS := $(BUILD)/mailtapd $(if $(COLL_SRCS),$(BUILD)/mailtap-collector)

.PHONY: all deps-build deps-test deps-demo deps-bench deps-fuzz test unit demo bench fuzz clean
.DELETE_ON_ERROR:
.SECONDARY:

all: $(PROGS) $(UNIT_BINS) $(TOOL_BINS)

deps-build:
	@sh mk/deps.sh build
deps-test:
	@sh mk/deps.sh test
deps-demo:
	@sh mk/deps.sh demo
deps-bench:
	@sh mk/deps.sh bench
deps-fuzz:
	@sh mk/deps.sh fuzz

# --- libraries -----------------------------------------------------------
$(BUILD)/obj/%.o: %.c $(FW_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c $(FW_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -Icollector -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer -c $< -o $@

$(BUILD)/libmailtap.a: $(FW_SRCS:%.c=$(BUILD)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/asan/libmailtap.a: $(FW_SRCS:%.c=$(BUILD)/asan/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

# --- mailtapd --------------------------------------------------------------
$(BUILD)/obj/drivers/dpdk_port.o: drivers/dpdk_port.c $(FW_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) $(DPDK_CFLAGS) -Wno-strict-prototypes -c $< -o $@

$(BUILD)/mailtapd: $(BUILD)/obj/firmware/main.o $(BUILD)/obj/drivers/pcap_file.o \
		$(BUILD)/obj/drivers/dpdk_port.o $(BUILD)/libmailtap.a
	$(CC) $(CFLAGS) -o $@ $^ $(DPDK_LIBS) $(LIBS)

# --- mailtap-collector ---------------------------------------------------------
$(BUILD)/mailtap-collector: $(BUILD)/obj/collector/main.o $(BUILD)/libcollector.a $(BUILD)/libmailtap.a
	$(CC) $(CFLAGS) -o $@ $^ -lsqlite3 $(LIBS)

# Everything of the collector but main(), for its unit tests.
$(BUILD)/libcollector.a: $(COLL_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/asan/libcollector.a: $(COLL_LIB_SRCS:%.c=$(BUILD)/asan/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/obj/collector/%.o: collector/%.c $(FW_HDRS) $(wildcard collector/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -Icollector -c $< -o $@

# --- tests -----------------------------------------------------------------
COLL_LIB_DEP = $(if $(COLL_LIB_SRCS),$(BUILD)/libcollector.a)
ASAN_COLL_LIB_DEP = $(if $(COLL_LIB_SRCS),$(BUILD)/asan/libcollector.a)

# test_rss hashes with DPDK's software Toeplitz (rte_thash.h, header only:
# DPDK's include flags, none of its libraries).
$(BUILD)/tests/test_rss $(BUILD)/asan/test_rss: UNIT_DPDK = $(DPDK_CFLAGS) -Wno-strict-prototypes

$(BUILD)/tests/%: tests/unit/%.c $(COLL_LIB_DEP) $(BUILD)/libmailtap.a $(BUILD)/obj/drivers/pcap_file.o tests/unit/testutil.h tests/unit/apptest.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) $(UNIT_DPDK) -Itests/unit -Icollector -o $@ $< $(BUILD)/obj/drivers/pcap_file.o \
		$(COLL_LIB_DEP) $(BUILD)/libmailtap.a -lcmocka -lsqlite3 $(LIBS)

$(BUILD)/asan/%: tests/unit/%.c $(ASAN_COLL_LIB_DEP) $(BUILD)/asan/libmailtap.a $(BUILD)/asan/obj/drivers/pcap_file.o tests/unit/testutil.h tests/unit/apptest.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer $(UNIT_DPDK) -Itests/unit -Icollector -o $@ $< \
		$(BUILD)/asan/obj/drivers/pcap_file.o $(ASAN_COLL_LIB_DEP) $(BUILD)/asan/libmailtap.a \
		-lcmocka -lsqlite3 $(LIBS)

$(BUILD)/tools/%: tests/tools/%.c $(COLL_LIB_DEP) $(BUILD)/libmailtap.a $(BUILD)/obj/drivers/pcap_file.o
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) -Icollector -o $@ $< $(BUILD)/obj/drivers/pcap_file.o \
		$(COLL_LIB_DEP) $(BUILD)/libmailtap.a -lsqlite3 $(LIBS)

unit: $(UNIT_BINS) $(ASAN_BINS)

test: deps-test
	@$(MAKE) --no-print-directory all unit
	@sh tests/run.sh $(BUILD)

# --- demo, bench, fuzz -------------------------------------------------------
demo: deps-demo
	@$(MAKE) --no-print-directory $(PROGS)
	@sh tests/demo.sh $(BUILD)

$(BUILD)/bench: tests/bench/bench.c $(BUILD)/libmailtap.a $(BUILD)/obj/drivers/pcap_file.o
	$(CC) $(BASE) $(CFLAGS) -O3 -o $@ $< $(BUILD)/obj/drivers/pcap_file.o $(BUILD)/libmailtap.a $(LIBS)

$(BUILD)/bench_smtp: tests/bench/bench_smtp.c $(BUILD)/libmailtap.a
	$(CC) $(BASE) $(CFLAGS) -O3 -o $@ $< $(BUILD)/libmailtap.a $(LIBS)

$(BUILD)/bench_rxonly: tests/bench/rxonly.c
	$(CC) $(BASE) $(CFLAGS) $(DPDK_CFLAGS) -Wno-strict-prototypes -o $@ $< $(DPDK_LIBS)

bench: deps-bench
	@$(MAKE) --no-print-directory $(BUILD)/bench $(BUILD)/bench_smtp $(BUILD)/bench_rxonly \
		$(PROGS) $(TOOL_BINS)
	@sh tests/bench/run.sh $(BUILD)

# Fuzz targets share one instrumented library: every source compiled once.
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Ifirmware -Icollector -Itests/fuzz -g -O1 \
	-fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJS := $(FW_SRCS:%.c=$(BUILD)/fuzz/obj/%.o) $(COLL_LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/obj/%.o: %.c $(FW_HDRS) $(wildcard collector/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/libfuzzlib.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzz/libfuzzlib.a $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/fuzz/libfuzzlib.a \
		-lsqlite3 -lmbedtls -lmbedx509 -lmbedcrypto -lpthread -lm

fuzz: deps-fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@sh tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
