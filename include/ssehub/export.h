/* SPDX-License-Identifier: MIT */
/* Symbol visibility for the public API: only SSEHUB_EXTERN symbols are exported. */
#ifndef SSEHUB_EXPORT_H
#define SSEHUB_EXPORT_H

#if defined(SSEHUB_STATIC)
#define SSEHUB_EXTERN
#elif defined(__GNUC__) || defined(__clang__)
#define SSEHUB_EXTERN __attribute__((visibility("default")))
#else
#define SSEHUB_EXTERN
#endif

#endif /* SSEHUB_EXPORT_H */
