/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Names of the ABI's enums as users see them (status, metrics labels,
 * events). Indexed by the enum value; sized by the enum's _MAX so a new
 * reason without a name fails to compile.
 */
#ifndef SLUICE_NAMES_H
#define SLUICE_NAMES_H

#include "sluice_abi.h"

extern const char *const sluice_pass_names[SLUICE_PASS_MAX];
extern const char *const sluice_drop_names[SLUICE_DROP_MAX];
extern const char *const sluice_error_names[SLUICE_ERR_MAX];
extern const char *const sluice_mode_names[2];
extern const char *const sluice_affinity_names[3];
const char *sluice_event_type_name(__u32 type);

#endif /* SLUICE_NAMES_H */
