/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The `ca` command of mailtap-collector (collector/ca.c) as a program of
 * its own for tests that should not depend on the collector binary:
 * `export_ca init --dir DIR`, `export_ca issue --dir DIR --appliance NAME`.
 */
#include "ca.h"

int main(int argc, char **argv)
{
	/* argv[0] stands for `ca`, as the collector passes it on. */
	return mt_ca_main(argc, argv);
}
