/* SPDX-License-Identifier: MIT */
/* ssehub_strerror() and ssehub_err_name(), generated from SSEHUB_ERRNO_MAP. */
#include "ssehub/errno.h"

const char *ssehub_strerror(int err)
{
    switch (err) {
#define XX(name, value, text) \
    case SSEHUB_##name:       \
        return text;
        SSEHUB_ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

const char *ssehub_err_name(int err)
{
    switch (err) {
#define XX(name, value, text) \
    case SSEHUB_##name:       \
        return #name;
        SSEHUB_ERRNO_MAP(XX)
#undef XX
    default:
        return "UNKNOWN";
    }
}
