/* SPDX-License-Identifier: MIT */
/* The umbrella header of libssehub: include this one. */
#ifndef SSEHUB_SSEHUB_H
#define SSEHUB_SSEHUB_H

#include "ssehub/export.h"
#include "ssehub/version.h"
#include "ssehub/errno.h"
#include "ssehub/alloc.h"
#include "ssehub/rcbuf.h"
#include "ssehub/sse.h"

#endif /* SSEHUB_SSEHUB_H */
