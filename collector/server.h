/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `mailtap-collector serve`: one epoll loop for every appliance connection
 * (mbedTLS server, mutual authentication, allow-list, per-session
 * templates), the metrics endpoint and the writer's completions. Nothing
 * in the loop blocks: sockets are non-blocking, the database is the writer
 * thread's, and a connection that stops reading or sending only ever
 * holds its own capped buffers.
 */
#ifndef MT_SERVER_H
#define MT_SERVER_H

#include "coll_config.h"

/*
 * Runs until SIGTERM or SIGINT, then commits what it holds, acknowledges
 * it and returns 0; -1 when start-up fails (the reason is logged).
 */
int mt_server_run(const struct mt_coll_config *cfg);

#endif
