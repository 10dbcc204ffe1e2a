/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `mailtap-collector ca`: a small certificate authority for a lab or a
 * first deployment, so an engineer needs no openssl commands. It makes an
 * ECDSA P-256 CA, and appliance (clientAuth) and collector (serverAuth,
 * subjectAltName DNS) certificates signed by it, with mbedTLS. Private
 * keys are created 0600, never overwritten, and wiped from memory.
 */
#ifndef MT_CA_H
#define MT_CA_H

/*
 * Runs one `ca` command. argv[0] is the command's own name (`ca`, as a
 * subcommand dispatcher passes it on), argv[1] the subcommand:
 *
 *   ca init  --dir DIR [--cn NAME] [--days N]
 *   ca issue --dir DIR --appliance NAME [--days N]
 *   ca issue --dir DIR --collector NAME [--san DNSNAME]... [--days N]
 *
 * Returns the exit status: 0 done, 1 failed (the reason on stderr), 2 bad
 * usage.
 */
int mt_ca_main(int argc, char **argv);

#endif
