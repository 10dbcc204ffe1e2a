/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The receive-only ceiling for `make bench`, in the manner of dpdk-testpmd
 * --forward-mode=rxonly (not shipped in Debian 12's dpdk package): one
 * port, one queue, rx_burst and free, nothing else, for a fixed time.
 * Prints packets per second on the one worker core.
 * usage: bench_rxonly SECONDS EAL-ARGS...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#define BURST 32

static uint64_t secs;
static uint64_t pkts, bytes;

static int rx_loop(void *arg)
{
	struct rte_mbuf *m[BURST];
	uint64_t end = rte_get_tsc_cycles() + secs * rte_get_tsc_hz();

	(void)arg;
	while (rte_get_tsc_cycles() < end) {
		uint16_t n = rte_eth_rx_burst(0, 0, m, BURST);

		for (uint16_t i = 0; i < n; i++)
			bytes += rte_pktmbuf_pkt_len(m[i]);
		pkts += n;
		rte_pktmbuf_free_bulk(m, n);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rte_eth_conf conf;
	struct rte_mempool *mp;
	unsigned worker;
	int n;

	if (argc < 2)
		return 2;
	secs = strtoull(argv[1], NULL, 10);
	argv[1] = argv[0];
	n = rte_eal_init(argc - 1, argv + 1);
	if (n < 0 || rte_eth_dev_count_avail() < 1) {
		fprintf(stderr, "bench_rxonly: EAL init failed or no port\n");
		return 1;
	}
	/* net_pcap with infinite_rx keeps the whole file in mbufs. */
	mp = rte_pktmbuf_pool_create("rx", 262143, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     rte_socket_id());
	memset(&conf, 0, sizeof(conf));
	if (!mp || rte_eth_dev_configure(0, 1, 1, &conf) ||
	    rte_eth_rx_queue_setup(0, 0, 1024, rte_eth_dev_socket_id(0), NULL, mp) ||
	    rte_eth_tx_queue_setup(0, 0, 1024, rte_eth_dev_socket_id(0), NULL) ||
	    rte_eth_dev_start(0)) {
		fprintf(stderr, "bench_rxonly: port set-up failed\n");
		return 1;
	}
	worker = rte_get_next_lcore(-1, 1, 0);
	if (worker == RTE_MAX_LCORE) {
		fprintf(stderr, "bench_rxonly: give two lcores (-l 0,1)\n");
		return 1;
	}
	rte_eal_remote_launch(rx_loop, NULL, worker);
	rte_eal_mp_wait_lcore();
	printf("rxonly: %llu packets in %llu s: %.2f Mpps, %.2f Gbit/s on one core\n",
	       (unsigned long long)pkts, (unsigned long long)secs,
	       (double)pkts / (double)secs / 1e6, (double)bytes * 8 / (double)secs / 1e9);
	rte_eth_dev_stop(0);
	rte_eal_cleanup();
	return 0;
}
