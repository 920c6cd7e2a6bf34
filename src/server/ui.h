/* SPDX-License-Identifier: MIT */
/*
 * The demo page served at "/" (PRODUCT.md §3, off with --no-ui): src/server/ui/index.html,
 * one self-contained file turned into these bytes at build time by sh_embed_file()
 * (cmake/Embed.cmake). sh_ui_index_html_len is its size in bytes; a NUL follows the last
 * byte (not counted). Serve it as "text/html; charset=utf-8".
 */
#ifndef SH_SERVER_UI_H
#define SH_SERVER_UI_H

#include <stddef.h>

extern const unsigned char sh_ui_index_html[];
extern const size_t sh_ui_index_html_len;

#endif
