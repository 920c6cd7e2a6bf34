/* SPDX-License-Identifier: MIT */
/* JSON string literal escaping. */
#include "ssehub/errno.h"
#include "base/json.h"

/* Non-zero for the bytes that need an escape sequence. */
static int needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

int sh_json_append_string(sh_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t old_len = b->len, i = 0, run;
    int rc;

    rc = sh_buf_append(b, "\"", 1);
    if (rc != 0)
        goto err_restore;
    while (i < len) {
        char esc[6];
        size_t esc_len = 2;
        unsigned char c;

        for (run = i; run < len && !needs_escape((unsigned char)s[run]); run++)
            ;
        rc = sh_buf_append(b, s + i, run - i);
        if (rc != 0)
            goto err_restore;
        i = run;
        if (i == len)
            break;
        c = (unsigned char)s[i++];
        esc[0] = '\\';
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xF];
            esc_len = 6;
            break;
        }
        rc = sh_buf_append(b, esc, esc_len);
        if (rc != 0)
            goto err_restore;
    }
    rc = sh_buf_append(b, "\"", 1);
    if (rc != 0)
        goto err_restore;
    return 0;

err_restore:
    b->len = old_len;
    return rc;
}
