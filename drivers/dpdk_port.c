/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK packet path: EAL start-up from [dpdk] eal_args, one mbuf pool and
 * symmetric RSS per port, and one worker lcore per (port, RX queue) driving
 * a struct mt_worker. The main lcore is the control plane: it drains each
 * worker's record ring into the output and writes the stats records. The
 * lcores are the user's (-l/--lcores/-c in eal_args): main plus one per queue.
 */
#include "dpdk_port.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_spinlock.h>
#include <rte_telemetry.h>

#include "../firmware/export.h"
#include "../firmware/worker.h"
#include "rss_key.h"

#define EAL_MAX_ARGS 128
#define MAX_BURST 512              /* the [dpdk] burst cap */
#define SCRATCH_BYTES (16 * 1024)   /* multi-segment frames linearised here */
#define DRAIN_BURST 64
#define LIVE_TICK_NS (100 * MT_NS_PER_MS) /* idle queues advance time this often */
#define MAIN_IDLE_SLEEP_US 100

/*
 * Timestamp unit of the RX timestamp dynamic field, per driver. The field's
 * unit and epoch are driver-defined (rte_mbuf_dyn.h), so only drivers whose
 * unit is known are trusted; every other port uses the wall clock.
 * net_pcap (DPDK 22.11) opens files at microsecond precision and stores
 * tv_sec * 10^6 + tv_usec, so files saved at nanosecond precision lose the
 * sub-microsecond digits on this path.
 */
static const struct {
	const char *driver;
	uint64_t ns_per_unit;
} ts_units[] = {
	{ "net_pcap", MT_NS_PER_US },
};

struct run;

/* One per worker lcore; once launched, only that lcore writes it. */
struct lcore_ctx {
	struct mt_worker w;            /* first: cache-aligned, hot */
	struct run *rt;
	struct rte_ring *ring;         /* records to the main lcore (SP/SC) */
	struct rte_mempool *slots;     /* record slots, returned by main */
	volatile int *quit;
	uint64_t ts_flag;              /* 0: this port's timestamps are not used */
	uint64_t ts_mul;               /* ns per timestamp unit */
	uint64_t idle_cycles;          /* replay mode: TSC cycles until idle */
	uint64_t tick_cycles;          /* live mode: TSC cycles between ticks */
	int ts_off;
	uint16_t port;
	uint16_t queue;
	uint16_t burst;
	unsigned lcore;
	bool flushing;                 /* shutdown: wait for slots, never drop */
	/* Read by the main lcore and the telemetry thread. */
	uint64_t first_ns MT_CACHE_ALIGNED;
	volatile int idle;             /* replay mode: quiet for idle_exit */
	volatile int done;             /* flushed; nothing more will be emitted */
	uint8_t scratch[SCRATCH_BYTES] MT_CACHE_ALIGNED;
};

struct run {
	const struct mt_config *cfg;
	struct mt_output *out;
	volatile int *quit;
	volatile int stop;
	unsigned nports;
	uint16_t ports[RTE_MAX_ETHPORTS];
	struct rte_mempool *pools[RTE_MAX_ETHPORTS];
	bool configured[RTE_MAX_ETHPORTS];
	bool started[RTE_MAX_ETHPORTS];
	uint64_t ts_mul[RTE_MAX_ETHPORTS];
	unsigned nworkers;
	struct lcore_ctx *lc[RTE_MAX_LCORE];
	struct mt_rec rec;             /* stats records built by the main lcore */
};

/* The telemetry thread reads the run under this lock; teardown clears it. */
static rte_spinlock_t tel_lock = RTE_SPINLOCK_INITIALIZER;
static struct run *tel_run;
static bool tel_registered;

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fputs("mailtapd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t wall_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * MT_NS_PER_SEC + (uint64_t)t.tv_nsec;
}

static uint64_t ns_to_cycles(uint64_t ns)
{
	return (uint64_t)((long double)ns * rte_get_tsc_hz() / MT_NS_PER_SEC);
}

/*
 * Splits eal_args on whitespace into argv after `prog`; double quotes group
 * words and are removed ("rx_pcap=/a b.pcap" or rx_pcap="/a b.pcap").
 * The strings live in `buf`, which must outlive the EAL.
 */
static int split_args(const char *s, const char *prog, char *buf,
		      char **argv, int max)
{
	int argc = 0;
	char *o = buf;

	argv[argc++] = (char *)prog;
	while (*s) {
		bool quoted = false;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		if (argc == max - 1) {
			fail("[dpdk] eal_args: more than %d arguments", max - 2);
			return -E2BIG;
		}
		argv[argc++] = o;
		for (; *s && (quoted || (*s != ' ' && *s != '\t' && *s != '\n')); s++) {
			if (*s == '"')
				quoted = !quoted;
			else
				*o++ = *s;
		}
		if (quoted) {
			fail("[dpdk] eal_args: unterminated double quote");
			return -EINVAL;
		}
		*o++ = '\0';
	}
	argv[argc] = NULL;
	return argc;
}

/* Parses [dpdk] ports into rt->ports, checking each against the EAL's. */
static int parse_ports(struct run *rt)
{
	const char *s = rt->cfg->dpdk.ports;
	uint16_t avail = rte_eth_dev_count_avail();

	rt->nports = 0;
	while (*s) {
		char tok[32];
		size_t n;
		char *end;
		unsigned long id;

		s += strspn(s, " \t,");
		n = strcspn(s, " \t,");
		if (!n)
			break;
		if (n >= sizeof(tok))
			n = sizeof(tok) - 1;
		memcpy(tok, s, n);
		tok[n] = '\0';
		s += strcspn(s, " \t,");
		errno = 0;
		id = strtoul(tok, &end, 10);
		if (*end || errno || end == tok) {
			fail("[dpdk] ports: `%s' is not a port id", tok);
			return -EINVAL;
		}
		if (id >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port((uint16_t)id)) {
			if (avail == 0)
				fail("[dpdk] ports: port %s does not exist: the EAL "
				     "found no port; add a --vdev or PCI device to "
				     "[dpdk] eal_args", tok);
			else if (avail == 1)
				fail("[dpdk] ports: port %s does not exist: the EAL "
				     "found 1 port (id 0); check [dpdk] eal_args", tok);
			else
				fail("[dpdk] ports: port %s does not exist: the EAL "
				     "found %u ports (ids 0-%u); check [dpdk] eal_args",
				     tok, avail, avail - 1u);
			return -ENODEV;
		}
		for (unsigned i = 0; i < rt->nports; i++)
			if (rt->ports[i] == id) {
				fail("[dpdk] ports: port %s listed twice", tok);
				return -EINVAL;
			}
		if (rt->nports == RTE_MAX_ETHPORTS) {
			fail("[dpdk] ports: more than %d ports", RTE_MAX_ETHPORTS);
			return -E2BIG;
		}
		rt->ports[rt->nports++] = (uint16_t)id;
	}
	if (!rt->nports) {
		fail("[dpdk] ports: no port given");
		return -EINVAL;
	}
	return 0;
}

static uint64_t driver_ts_unit(const char *driver)
{
	for (unsigned i = 0; i < MT_ARRAY_SIZE(ts_units); i++)
		if (driver && strcmp(driver, ts_units[i].driver) == 0)
			return ts_units[i].ns_per_unit;
	return 0;
}

/* Configures and starts one port: pool, RSS, queues, promiscuous mode. */
static int port_setup(struct run *rt, unsigned pi)
{
	const struct mt_config *cfg = rt->cfg;
	uint16_t port = rt->ports[pi];
	uint16_t nq = (uint16_t)cfg->dpdk.rx_queues;
	uint16_t nb_rxd = (uint16_t)MT_MIN(cfg->dpdk.rx_desc, UINT16_MAX);
	uint16_t nb_txd = 64, ntx;
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	struct rte_eth_rxconf rxconf;
	uint8_t key[255];
	char name[RTE_MEMPOOL_NAMESIZE];
	int socket, rc;

	rc = rte_eth_dev_info_get(port, &info);
	if (rc) {
		fail("port %u: cannot read device info: %s", port, rte_strerror(-rc));
		return rc;
	}
	if (nq > info.max_rx_queues) {
		fail("port %u (%s) has at most %u RX queue%s; [dpdk] rx_queues is %u",
		     port, info.driver_name, info.max_rx_queues,
		     info.max_rx_queues == 1 ? "" : "s", nq);
		return -EINVAL;
	}
	memset(&conf, 0, sizeof(conf));
	if (nq > 1) {
		uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
			      info.flow_type_rss_offloads;

		if (!hf) {
			fail("port %u (%s) has no RSS for IP/TCP/UDP, so it cannot "
			     "spread flows over %u RX queues: set [dpdk] rx_queues = 1",
			     port, info.driver_name, nq);
			return -ENOTSUP;
		}
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = hf;
		/* A symmetric key (rss_key.h): both directions of a flow
		 * hash alike and so meet on one worker. */
		if (info.hash_key_size) {
			mt_rss_key_fill(key, info.hash_key_size);
			conf.rx_adv_conf.rss_conf.rss_key = key;
			conf.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size;
		} else {
			fprintf(stderr, "mailtapd: port %u (%s) takes no RSS key: "
				"its own hash decides whether both directions of a "
				"flow meet on one queue\n", port, info.driver_name);
		}
	}
	socket = rte_eth_dev_socket_id(port);
	if (socket < 0)
		socket = (int)rte_socket_id();
	snprintf(name, sizeof(name), "mt_mbuf_%u", port);
	rt->pools[pi] = rte_pktmbuf_pool_create(name, cfg->dpdk.mbufs,
						cfg->dpdk.mbuf_cache, 0,
						RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (!rt->pools[pi]) {
		fail("port %u: cannot create a pool of %u mbufs ([dpdk] mbufs): %s",
		     port, cfg->dpdk.mbufs, rte_strerror(rte_errno));
		return -rte_errno;
	}
	/* Nothing is ever sent, but some PMDs refuse to start without TX
	 * queues, and queue-pair PMDs (net_tap, net_af_xdp) want as many TX
	 * as RX queues. Idle TX queues cost only descriptors. */
	ntx = (uint16_t)MT_MIN(nq, info.max_tx_queues);
	rc = rte_eth_dev_configure(port, nq, ntx, &conf);
	if (rc) {
		fail("port %u (%s): configure with %u RX queue%s failed: %s", port,
		     info.driver_name, nq, nq == 1 ? "" : "s", rte_strerror(-rc));
		return rc;
	}
	rt->configured[pi] = true;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (rc) {
		fail("port %u: cannot use %u RX descriptors ([dpdk] rx_desc): %s",
		     port, cfg->dpdk.rx_desc, rte_strerror(-rc));
		return rc;
	}
	rxconf = info.default_rxconf;
	rxconf.offloads = conf.rxmode.offloads;
	for (uint16_t q = 0; q < nq; q++) {
		rc = rte_eth_rx_queue_setup(port, q, nb_rxd, (unsigned)socket,
					    &rxconf, rt->pools[pi]);
		if (rc) {
			fail("port %u: RX queue %u setup failed: %s", port, q,
			     rte_strerror(-rc));
			return rc;
		}
	}
	for (uint16_t q = 0; q < ntx; q++) {
		rc = rte_eth_tx_queue_setup(port, q, nb_txd, (unsigned)socket, NULL);
		if (rc) {
			fail("port %u: TX queue setup failed: %s", port,
			     rte_strerror(-rc));
			return rc;
		}
	}
	rc = cfg->dpdk.promiscuous ? rte_eth_promiscuous_enable(port)
				   : rte_eth_promiscuous_disable(port);
	if (rc == -ENOTSUP) {
		if (cfg->dpdk.promiscuous)
			fprintf(stderr, "mailtapd: port %u (%s) has no promiscuous "
				"mode; it sees what its driver delivers\n", port,
				info.driver_name);
	} else if (rc) {
		fail("port %u: cannot %s promiscuous mode: %s", port,
		     cfg->dpdk.promiscuous ? "enable" : "disable",
		     rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_start(port);
	if (rc) {
		fail("port %u (%s): start failed: %s", port, info.driver_name,
		     rte_strerror(-rc));
		return rc;
	}
	rt->started[pi] = true;
	rt->ts_mul[pi] = driver_ts_unit(info.driver_name);
	return 0;
}

/*
 * Worker emit callback: copies the record into a free slot and hands the
 * slot to the main lcore. On the data path a full pool or ring drops the
 * record (counted) rather than stall capture; while flushing at shutdown the
 * main lcore is draining, so waiting for a slot loses nothing.
 */
static void emit_to_ring(void *ctx, const struct mt_rec *r)
{
	struct lcore_ctx *lc = ctx;
	void *slot;

	while (unlikely(rte_mempool_get(lc->slots, &slot) != 0)) {
		if (!lc->flushing)
			goto drop;
		rte_pause();
	}
	memcpy(slot, r, mt_rec_size(r));
	/* The ring holds as many entries as the pool has slots, so this only
	 * fails if that invariant is broken. */
	if (unlikely(rte_ring_sp_enqueue(lc->ring, slot) != 0)) {
		rte_mempool_put(lc->slots, slot);
		goto drop;
	}
	return;
drop:
	MT_CTR_INC(&lc->w.ctr, output_ring_drops);
}

static inline uint64_t pkt_time(const struct lcore_ctx *lc,
				const struct rte_mbuf *m, uint64_t *wall)
{
	if (likely(m->ol_flags & lc->ts_flag))
		return *RTE_MBUF_DYNFIELD(m, lc->ts_off, const rte_mbuf_timestamp_t *) *
		       lc->ts_mul;
	/* One clock read per burst, not per packet. */
	if (!*wall)
		*wall = wall_ns();
	return *wall;
}

/* The lcore loop: receive, hand every frame to the worker, free it. */
static int worker_main(void *arg)
{
	struct lcore_ctx *lc = arg;
	struct mt_worker *w = &lc->w;
	struct rte_mbuf *pkts[MAX_BURST];
	uint64_t last_rx = rte_rdtsc(), last_tick = last_rx;
	const volatile int *stop = &lc->rt->stop;

	while (!*lc->quit && !*stop) {
		uint16_t n = rte_eth_rx_burst(lc->port, lc->queue, pkts, lc->burst);
		uint64_t wall = 0, now;

		if (n == 0) {
			now = rte_rdtsc();
			if (lc->idle_cycles) {
				/* Replay: time stays frozen so the output
				 * equals an offline read; tell main we are
				 * done with the input. */
				if (!lc->idle && now - last_rx >= lc->idle_cycles)
					lc->idle = 1;
			} else if (now - last_tick >= lc->tick_cycles) {
				last_tick = now;
				mt_worker_tick(w, wall_ns());
			}
			continue;
		}
		last_rx = rte_rdtsc();
		if (unlikely(lc->idle))
			lc->idle = 0;
		{
			struct mt_frame fr[MT_WORKER_BURST_MAX];
			unsigned k = 0;

			for (uint16_t i = 0; i < n; i++) {
				struct rte_mbuf *m = pkts[i];
				uint64_t ts = pkt_time(lc, m, &wall);

				if (unlikely(!lc->first_ns))
					lc->first_ns = ts;
				if (unlikely(m->nb_segs > 1)) {
					/* The scratch buffer holds one frame:
					 * finish the burst so far, then this
					 * one alone. Beyond the scratch buffer
					 * the frame is cut and counted
					 * truncated by the decoder. */
					uint32_t caplen = MT_MIN(rte_pktmbuf_pkt_len(m),
								 SCRATCH_BYTES);
					const uint8_t *frame = rte_pktmbuf_read(
						m, 0, caplen, lc->scratch);

					if (k)
						mt_worker_burst(w, MT_LINK_ETHERNET, fr, k);
					k = 0;
					mt_worker_packet(w, MT_LINK_ETHERNET, frame,
							 caplen, rte_pktmbuf_pkt_len(m), ts);
					continue;
				}
				fr[k].data = rte_pktmbuf_mtod(m, const uint8_t *);
				fr[k].caplen = rte_pktmbuf_data_len(m);
				fr[k].wirelen = rte_pktmbuf_pkt_len(m);
				fr[k].ts_ns = ts;
				if (++k == MT_WORKER_BURST_MAX) {
					mt_worker_burst(w, MT_LINK_ETHERNET, fr, k);
					k = 0;
				}
			}
			if (k)
				mt_worker_burst(w, MT_LINK_ETHERNET, fr, k);
		}
		rte_pktmbuf_free_bulk(pkts, n);
	}
	lc->flushing = true;
	mt_worker_flush(w);
	__atomic_store_n(&lc->done, 1, __ATOMIC_RELEASE);
	return 0;
}

/* Moves every queued record of every worker to the output; returns how many. */
static unsigned drain(struct run *rt)
{
	unsigned total = 0;

	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct lcore_ctx *lc = rt->lc[i];
		void *slots[DRAIN_BURST];
		unsigned n;

		while ((n = rte_ring_sc_dequeue_burst(lc->ring, slots, DRAIN_BURST,
						      NULL)) > 0) {
			for (unsigned k = 0; k < n; k++)
				mt_output_record(rt->out, slots[k]);
			rte_mempool_put_bulk(lc->slots, slots, n);
			total += n;
		}
	}
	return total;
}

/*
 * Reads one worker's counters. While it runs the reads race with its
 * increments; each 64-bit load is atomic, so a value is at worst a moment
 * old (and the counters of one read may be a few packets apart).
 */
static void worker_counters(const struct lcore_ctx *lc, struct mt_counters *c)
{
	for (unsigned i = 0; i < MT_CTR__COUNT; i++)
		c->v[i] = __atomic_load_n(&lc->w.ctr.v[i], __ATOMIC_RELAXED);
}

/* Sums worker and port counters. */
static void sum_counters(const struct run *rt, struct mt_counters *sum,
			 uint64_t *last_ns, uint64_t *first_ns)
{
	memset(sum, 0, sizeof(*sum));
	*last_ns = 0;
	*first_ns = 0;
	for (unsigned i = 0; i < rt->nworkers; i++) {
		const struct lcore_ctx *lc = rt->lc[i];
		uint64_t f = __atomic_load_n(&lc->first_ns, __ATOMIC_RELAXED);
		uint64_t l = __atomic_load_n(&lc->w.now_ns, __ATOMIC_RELAXED);
		struct mt_counters one;

		worker_counters(lc, &one);
		for (unsigned c = 0; c < MT_CTR__COUNT; c++)
			sum->v[c] += one.v[c];
		if (f && (!*first_ns || f < *first_ns))
			*first_ns = f;
		if (l > *last_ns)
			*last_ns = l;
	}
	for (unsigned p = 0; p < rt->nports; p++) {
		struct rte_eth_stats st;

		if (!rt->started[p] || rte_eth_stats_get(rt->ports[p], &st) != 0)
			continue;
		sum->v[MT_CTR_capture_nic_drops] += st.imissed;
		sum->v[MT_CTR_capture_nic_errors] += st.ierrors;
		sum->v[MT_CTR_capture_nombuf] += st.rx_nombuf;
	}
	mt_output_counters(rt->out, sum);
}

static void emit_stats(struct run *rt, struct mt_counters *sum)
{
	uint64_t last, first;

	sum_counters(rt, sum, &last, &first);
	if (!last)
		last = wall_ns();
	mt_worker_stats_record(&rt->rec, sum, last,
			       first && last > first ? (last - first) / MT_NS_PER_SEC : 0);
	mt_output_record(rt->out, &rt->rec);
}

/* Telemetry names a counter GROUP_NAME, as in capture_pkts. */
static void tel_add_counter(struct rte_tel_data *d, unsigned c, uint64_t v)
{
	char name[64];

	snprintf(name, sizeof(name), "%s_%s", mt_counter_desc[c].group,
		 mt_counter_desc[c].name);
	rte_tel_data_add_dict_u64(d, name, v);
}

/* The counters that belong to a port, not to a worker (sum_counters). */
static bool port_counter(unsigned c)
{
	return c == MT_CTR_capture_nic_drops || c == MT_CTR_capture_nic_errors ||
	       c == MT_CTR_capture_nombuf;
}

_Static_assert(MT_CTR__COUNT + 3 <= RTE_TEL_MAX_DICT_ENTRIES,
	       "a worker's counters must fit one telemetry dictionary");

/* /mailtap/stats: every counter, summed over the workers and ports. */
static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mt_counters sum;
	uint64_t last, first;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_spinlock_lock(&tel_lock);
	if (tel_run) {
		sum_counters(tel_run, &sum, &last, &first);
		for (unsigned c = 0; c < MT_CTR__COUNT; c++)
			tel_add_counter(d, c, sum.v[c]);
	}
	rte_spinlock_unlock(&tel_lock);
	return 0;
}

/* /mailtap/workers: the lcore id of every worker, in worker order. */
static int tel_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	rte_spinlock_lock(&tel_lock);
	for (unsigned i = 0; tel_run && i < tel_run->nworkers; i++)
		rte_tel_data_add_array_int(d, (int)tel_run->lc[i]->lcore);
	rte_spinlock_unlock(&tel_lock);
	return 0;
}

/*
 * /mailtap/worker_stats,LCORE: the worker on that lcore, its port and RX
 * queue and its own counters (the port-level ones, NIC drops, errors and
 * mbuf failures, are only in /mailtap/stats and /ethdev/stats). -EINVAL
 * when no worker runs on LCORE.
 */
static int tel_worker_stats(const char *cmd, const char *params,
			    struct rte_tel_data *d)
{
	struct mt_counters one;
	unsigned long id;
	char *end;
	int rc = -EINVAL;

	(void)cmd;
	if (!params || !isdigit((unsigned char)params[0]))
		return -EINVAL;
	errno = 0;
	id = strtoul(params, &end, 10);
	if (errno || *end)
		return -EINVAL;
	rte_spinlock_lock(&tel_lock);
	for (unsigned i = 0; tel_run && i < tel_run->nworkers; i++) {
		const struct lcore_ctx *lc = tel_run->lc[i];

		if (lc->lcore != id)
			continue;
		worker_counters(lc, &one);
		rte_tel_data_start_dict(d);
		rte_tel_data_add_dict_u64(d, "lcore", lc->lcore);
		rte_tel_data_add_dict_u64(d, "port", lc->port);
		rte_tel_data_add_dict_u64(d, "queue", lc->queue);
		for (unsigned c = 0; c < MT_CTR__COUNT; c++)
			if (!port_counter(c))
				tel_add_counter(d, c, one.v[c]);
		rc = 0;
		break;
	}
	rte_spinlock_unlock(&tel_lock);
	return rc;
}

/* Replay mode: every worker has been quiet for idle_exit. */
static bool all_idle(const struct run *rt)
{
	for (unsigned i = 0; i < rt->nworkers; i++)
		if (!rt->lc[i]->idle)
			return false;
	return true;
}

/* Every worker has flushed: its last record is in its ring. */
static bool all_done(const struct run *rt)
{
	for (unsigned i = 0; i < rt->nworkers; i++)
		if (!__atomic_load_n(&rt->lc[i]->done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

/* Creates the worker of one (port, queue) on `lcore`: state, ring, slots. */
static int worker_setup(struct run *rt, unsigned idx, unsigned pi, uint16_t q,
			unsigned lcore, int ts_off, uint64_t ts_flag)
{
	const struct mt_config *cfg = rt->cfg;
	unsigned n = rte_align32pow2(cfg->dpdk.record_ring);
	int socket = (int)rte_lcore_to_socket_id(lcore);
	struct lcore_ctx *lc;
	char name[RTE_RING_NAMESIZE];
	int rc;

	lc = rte_zmalloc_socket("mt_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE, socket);
	if (!lc) {
		fail("cannot allocate worker state for lcore %u", lcore);
		return -ENOMEM;
	}
	rt->lc[idx] = lc;
	rt->nworkers = idx + 1;
	rc = mt_worker_init(&lc->w, cfg, idx, emit_to_ring, lc);
	if (rc) {
		fail("cannot allocate the pools of worker %u (flow.capacity %u, "
		     "stream.ooo_pool_bytes %llu): %s", idx, cfg->flow.capacity,
		     (unsigned long long)cfg->stream.ooo_pool_bytes, strerror(-rc));
		lc->w.streams = NULL;
		return rc;
	}
	lc->rt = rt;
	lc->quit = rt->quit;
	lc->port = rt->ports[pi];
	lc->queue = q;
	lc->lcore = lcore;
	lc->burst = (uint16_t)MT_MIN(cfg->dpdk.burst, MAX_BURST);
	lc->ts_off = ts_off;
	lc->ts_mul = rt->ts_mul[pi];
	lc->ts_flag = (ts_off >= 0 && lc->ts_mul) ? ts_flag : 0;
	lc->idle_cycles = cfg->dpdk.idle_exit_ns ? ns_to_cycles(cfg->dpdk.idle_exit_ns) : 0;
	lc->tick_cycles = ns_to_cycles(LIVE_TICK_NS);
	snprintf(name, sizeof(name), "mt_rec_%u", idx);
	/* Exact size: the ring can hold every slot, so enqueue never fails. */
	lc->ring = rte_ring_create(name, n, socket,
				   RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (!lc->ring) {
		fail("worker %u: cannot create a record ring of %u ([dpdk] "
		     "record_ring): %s", idx, n, rte_strerror(rte_errno));
		return -rte_errno;
	}
	snprintf(name, sizeof(name), "mt_slot_%u", idx);
	/* Taken by the worker, put back by the main lcore: one of each. */
	lc->slots = rte_mempool_create(name, n, sizeof(struct mt_rec), 0, 0,
				       NULL, NULL, NULL, NULL, socket,
				       RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
	if (!lc->slots) {
		fail("worker %u: cannot allocate %u record slots of %zu bytes "
		     "([dpdk] record_ring; raise -m in eal_args or lower it): %s",
		     idx, n, sizeof(struct mt_rec), rte_strerror(rte_errno));
		return -rte_errno;
	}
	return 0;
}

static void teardown(struct run *rt)
{
	rte_spinlock_lock(&tel_lock);
	tel_run = NULL;
	rte_spinlock_unlock(&tel_lock);
	for (unsigned p = 0; p < rt->nports; p++) {
		if (rt->started[p])
			rte_eth_dev_stop(rt->ports[p]);
		if (rt->configured[p])
			rte_eth_dev_close(rt->ports[p]);
	}
	for (unsigned i = 0; i < rt->nworkers; i++) {
		struct lcore_ctx *lc = rt->lc[i];

		if (!lc)
			continue;
		if (lc->w.streams)
			mt_worker_fini(&lc->w);
		rte_mempool_free(lc->slots);
		rte_ring_free(lc->ring);
		rte_free(lc);
	}
	for (unsigned p = 0; p < rt->nports; p++)
		rte_mempool_free(rt->pools[p]);
}

/* The export thread (started before the EAL, so free to run anywhere)
 * stays off the cores the workers busy-poll. */
static void export_off_workers(struct run *rt)
{
	cpu_set_t busy;

	CPU_ZERO(&busy);
	for (unsigned i = 0; i < rt->nworkers; i++) {
		rte_cpuset_t s = rte_lcore_cpuset(rt->lc[i]->lcore);

		CPU_OR(&busy, &busy, &s);
	}
	mt_export_avoid_cpus(rt->out->export, &busy);
}

/* The control plane loop of the main lcore, until quit or idle input. */
static void main_loop(struct run *rt)
{
	const struct mt_config *cfg = rt->cfg;
	uint64_t interval = cfg->output.stats_interval_ns ?
			    ns_to_cycles(cfg->output.stats_interval_ns) : 0;
	uint64_t next_stats = rte_rdtsc() + interval;
	struct mt_counters sum;

	while (!*rt->quit) {
		unsigned n = drain(rt);

		if (cfg->dpdk.idle_exit_ns && all_idle(rt))
			break;
		if (interval && rte_rdtsc() >= next_stats) {
			emit_stats(rt, &sum);
			next_stats += interval;
			if (next_stats <= rte_rdtsc())
				next_stats = rte_rdtsc() + interval;
		}
		if (!n)
			usleep(MAIN_IDLE_SLEEP_US);
	}
}

int mt_dpdk_run(const struct mt_config *cfg, const char *prog,
		struct mt_output *out, struct mt_counters *total,
		volatile int *quit)
{
	static char argbuf[MT_CONFIG_STR + 1];
	static char *argv[EAL_MAX_ARGS];
	struct run *rt;
	uint64_t ts_flag = 0, last, first;
	unsigned need, have, lcore, idx = 0;
	int argc, rc, ts_off = -1;

	argc = split_args(cfg->dpdk.eal_args, prog, argbuf, argv, EAL_MAX_ARGS);
	if (argc < 0)
		return argc;
	rt = calloc(1, sizeof(*rt));
	if (!rt) {
		fail("out of memory");
		return -ENOMEM;
	}
	rt->cfg = cfg;
	rt->out = out;
	rt->quit = quit;

	if (rte_eal_init(argc, argv) < 0) {
		rc = rte_errno ? -rte_errno : -EINVAL;
		fail("DPDK EAL initialisation failed: %s (check [dpdk] eal_args)",
		     rte_strerror(rte_errno));
		free(rt);
		return rc;
	}
	rc = parse_ports(rt);
	if (rc)
		goto out_eal;
	need = rt->nports * cfg->dpdk.rx_queues;
	have = rte_lcore_count() - 1;
	if (have < need) {
		fail("%u port%s x %u RX queue%s need %u worker lcores plus the main "
		     "lcore, but the EAL has %u worker lcore%s: give %u lcores in "
		     "[dpdk] eal_args (for example -l 0-%u)",
		     rt->nports, rt->nports == 1 ? "" : "s", cfg->dpdk.rx_queues,
		     cfg->dpdk.rx_queues == 1 ? "" : "s", need, have,
		     have == 1 ? "" : "s", need + 1, need);
		rc = -EINVAL;
		goto out_eal;
	}
	/* The PMD (e.g. net_pcap) may have registered it already; this
	 * returns the same field then. */
	if (rte_mbuf_dyn_rx_timestamp_register(&ts_off, &ts_flag) != 0) {
		fprintf(stderr, "mailtapd: no RX timestamp field (%s): using the "
			"wall clock\n", rte_strerror(rte_errno));
		ts_off = -1;
		ts_flag = 0;
	}
	for (unsigned p = 0; p < rt->nports; p++) {
		rc = port_setup(rt, p);
		if (rc)
			goto out_ports;
	}
	lcore = rte_get_next_lcore(-1, 1, 0);
	for (unsigned p = 0; p < rt->nports; p++)
		for (uint16_t q = 0; q < cfg->dpdk.rx_queues; q++) {
			rc = worker_setup(rt, idx++, p, q, lcore, ts_off, ts_flag);
			if (rc)
				goto out_ports;
			lcore = rte_get_next_lcore(lcore, 1, 0);
		}
	if (out->export)
		export_off_workers(rt);
	rte_spinlock_lock(&tel_lock);
	tel_run = rt;
	rte_spinlock_unlock(&tel_lock);
	if (!tel_registered) {
		/* Without telemetry in the EAL this is harmless. */
		rte_telemetry_register_cmd("/mailtap/stats", tel_stats,
			"Summed mailtap counters of every worker and port. No parameters.");
		rte_telemetry_register_cmd("/mailtap/workers", tel_workers,
			"The lcore ids of the mailtap workers. No parameters.");
		rte_telemetry_register_cmd("/mailtap/worker_stats", tel_worker_stats,
			"One mailtap worker's port, RX queue and counters. Parameters: int lcore_id");
		tel_registered = true;
	}
	for (unsigned i = 0; i < rt->nworkers; i++) {
		rc = rte_eal_remote_launch(worker_main, rt->lc[i], rt->lc[i]->lcore);
		if (rc) {
			fail("cannot launch the worker on lcore %u: %s",
			     rt->lc[i]->lcore, rte_strerror(-rc));
			rt->stop = 1;
			/* Workers launched so far still flush; skip the rest. */
			for (unsigned k = i; k < rt->nworkers; k++)
				rt->lc[k]->done = 1;
			break;
		}
	}
	if (!rc)
		main_loop(rt);
	rt->stop = 1;
	/* Workers flush their flows into the rings now: keep draining. */
	while (!all_done(rt))
		if (!drain(rt))
			rte_pause();
	rte_eal_mp_wait_lcore();
	drain(rt);
	sum_counters(rt, total, &last, &first);
	mt_worker_stats_record(&rt->rec, total, last,
			       first && last > first ? (last - first) / MT_NS_PER_SEC : 0);
	mt_output_record(out, &rt->rec);
out_ports:
	teardown(rt);
out_eal:
	free(rt);
	rte_eal_cleanup();
	return rc;
}
