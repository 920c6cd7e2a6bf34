/* SPDX-License-Identifier: MIT */
/* The run-time version string. */
#include "ssehub/version.h"

const char *ssehub_version_string(void)
{
    return SSEHUB_VERSION_STRING;
}
