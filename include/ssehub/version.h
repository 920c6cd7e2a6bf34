/* SPDX-License-Identifier: MIT */
/* The library's version, at compile time and at run time. */
#ifndef SSEHUB_VERSION_H
#define SSEHUB_VERSION_H

#include "ssehub/export.h"

#define SSEHUB_VERSION_MAJOR  0
#define SSEHUB_VERSION_MINOR  1
#define SSEHUB_VERSION_PATCH  0
#define SSEHUB_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/** Returns the version of the library linked at run time, e.g. "0.1.0". Static storage. */
SSEHUB_EXTERN const char *ssehub_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* SSEHUB_VERSION_H */
