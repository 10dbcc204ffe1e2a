/* SPDX-License-Identifier: BSD-3-Clause */
/* Version string of every mailtap program. */
#ifndef MT_VERSION_H
#define MT_VERSION_H
#define MT_VERSION "0.1.0"
#endif
